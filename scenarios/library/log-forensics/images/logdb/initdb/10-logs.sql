-- The evidence store: one row per log line, written by the shipper (rsyslog's ommysql).
CREATE DATABASE IF NOT EXISTS logs;
CREATE TABLE logs.events (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  received_at DATETIME NOT NULL,
  host VARCHAR(64) NOT NULL,
  source VARCHAR(32) NOT NULL,
  line TEXT NOT NULL,
  KEY by_source (source, id)
);
