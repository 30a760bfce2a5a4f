// Polls an exercise's progress and updates its team table in place (no framework, no other script).
(function () {
  "use strict";
  var table = document.getElementById("teams");
  if (!table || !table.dataset.progress) { return; }
  var url = table.dataset.progress;
  var polls = 0;
  function update(data) {
    document.getElementById("status").textContent = data.status;
    data.teams.forEach(function (t) {
      var row = table.querySelector('tr[data-team="' + CSS.escape(t.team) + '"]');
      if (!row) { return; }
      row.querySelector(".stage").textContent = t.stage;
      row.querySelector(".reason").textContent = t.reason;
    });
  }
  function poll() {
    polls += 1;
    if (polls > 2000) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .finally(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
