<?php
// Staff directory. BUG (the exercise): the search text goes into the SQL statement as it is.
require 'common.php';
page_start('Staff directory');
$name = $_GET['name'] ?? '';
?>
<form method="get"><input name="name" value="<?= htmlspecialchars($name) ?>"> <button>Search</button></form>
<?php
if ($name !== '') {
    $db = db();
    $sql = "SELECT name, extension FROM staff WHERE name LIKE '%" . $name . "%' ORDER BY name";
    $result = $db->query($sql);
    if ($result === false) {
        echo '<p class="error">Query failed: ' . htmlspecialchars($db->error) . '</p>';
    } else {
        echo "<table border=\"1\"><tr><th>Name</th><th>Extension</th></tr>\n";
        while ($row = $result->fetch_row()) {
            echo '<tr><td>' . htmlspecialchars((string) $row[0]) . '</td><td>'
                . htmlspecialchars((string) $row[1]) . "</td></tr>\n";
        }
        echo "</table>\n";
    }
}
page_end();
