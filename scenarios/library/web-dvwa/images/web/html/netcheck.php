<?php
// Network check for IT operations. BUG (the exercise): the address goes to the shell unchecked.
require 'common.php';
page_start('Network check');
$host = $_GET['host'] ?? '';
?>
<form method="get">Address: <input name="host" value="<?= htmlspecialchars($host) ?>"> <button>Ping</button></form>
<?php
if ($host !== '') {
    echo '<pre>' . htmlspecialchars((string) shell_exec('ping -c 1 -W 1 ' . $host . ' 2>&1')) . '</pre>';
}
page_end();
