<?php
// Staff login (unsalted MD5 in intranet.users: cracking them is a side objective).
require 'common.php';
page_start('Log in');
$user = $_POST['username'] ?? '';
if ($user !== '') {
    $db = db();
    $statement = $db->prepare('SELECT full_name FROM users WHERE username = ? AND password_md5 = MD5(?)');
    $password = $_POST['password'] ?? '';
    $statement->bind_param('ss', $user, $password);
    $statement->execute();
    $found = $statement->get_result()->fetch_row();
    echo $found ? '<p>Welcome back, ' . htmlspecialchars($found[0]) . '.</p>' : '<p>Wrong user name or password.</p>';
}
?>
<form method="post">User <input name="username"> Password <input type="password" name="password"> <button>Log in</button></form>
<?php page_end();
