<?php
require 'common.php';
page_start('Welcome');
?>
<p>Welcome to the Acme staff intranet.</p>
<ul>
  <li><a href="/directory.php">Staff directory</a>: find a colleague's extension.</li>
  <li><a href="/netcheck.php">Network check</a>: is a server up? (IT operations)</li>
</ul>
<?php page_end();
