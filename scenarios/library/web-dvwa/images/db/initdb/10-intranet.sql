-- The intranet's own data (the same for every team); the team's secret lives in hr (20-hr.sql).
CREATE DATABASE IF NOT EXISTS intranet;
CREATE TABLE intranet.staff (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  extension VARCHAR(8) NOT NULL
);
INSERT INTO intranet.staff (name, extension) VALUES
  ('Alice Martin', '1001'), ('Bruno Keller', '1017'), ('Chiara Russo', '1022'),
  ('Gordon Brown', '1035'), ('Pablo Picasso', '1040'), ('Hack Me', '1099');
CREATE TABLE intranet.users (
  username VARCHAR(32) PRIMARY KEY,
  full_name VARCHAR(64) NOT NULL,
  password_md5 CHAR(32) NOT NULL
);
INSERT INTO intranet.users VALUES
  ('admin', 'Intranet administrator', MD5('password')),
  ('gordonb', 'Gordon Brown', MD5('abc123')),
  ('pablo', 'Pablo Picasso', MD5('letmein')),
  ('smithy', 'Bob Smith', MD5('password'));
