// Polls an exercise's progress and updates its team table in place (no framework, no other script).
// When a team settles (ready, failed, done) the page reloads once, to show its access details and, for a
// failed stage, the retry button.
(function () {
  "use strict";
  var table = document.getElementById("teams");
  if (!table || !table.dataset.progress) { return; }
  var url = table.dataset.progress;
  var settled = ["ready", "failed", "done"];
  var polls = 0;
  function update(data) {
    var reload = false;
    document.getElementById("status").textContent = data.status;
    data.teams.forEach(function (t) {
      var row = table.querySelector('tr[data-team="' + CSS.escape(t.team) + '"]');
      if (!row) { return; }
      var cell = row.querySelector(".stage");
      if (cell.textContent !== t.stage && settled.indexOf(t.stage) >= 0) { reload = true; }
      cell.textContent = t.stage;
      row.querySelector(".reason").textContent = t.reason;
    });
    return reload;
  }
  function poll() {
    polls += 1;
    if (polls > 2000) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && update(data)) { window.location.reload(); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
