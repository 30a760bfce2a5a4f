<?php
// Shared by every page: the database connection (credentials in /var/www/config.php, written per team
// by Federange) and the page frame.
require '/var/www/config.php';

function db(): mysqli {
    mysqli_report(MYSQLI_REPORT_OFF);
    $db = @new mysqli(DB_HOST, DB_USER, DB_PASSWORD, DB_NAME, DB_PORT);
    if ($db->connect_errno) {
        http_response_code(503);
        exit('database unavailable: ' . htmlspecialchars($db->connect_error));
    }
    return $db;
}

function page_start(string $title): void {
    echo "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
        . htmlspecialchars($title) . " - Acme intranet</title></head><body>\n"
        . "<nav><a href=\"/\">Home</a> | <a href=\"/directory.php\">Staff directory</a> | "
        . "<a href=\"/netcheck.php\">Network check</a> | <a href=\"/login.php\">Log in</a></nav>\n"
        . "<h1>" . htmlspecialchars($title) . "</h1>\n";
}

function page_end(): void {
    echo "<footer><small>Acme Widgets Ltd. - internal use only</small></footer></body></html>\n";
}
