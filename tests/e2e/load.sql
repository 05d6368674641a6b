-- load.sql - the e2e suite's data set (about 200 MB of table files), made
-- server-side in one pass.  Content is random-ish (RANDOM_BYTES, hashes) so
-- that no layer below can shrink it to nothing; every table has secondary
-- indexes, so a backup carries index pages too.  Rows come from a 1000-row
-- number table joined with itself.

CREATE DATABASE e2e;
USE e2e;

CREATE TABLE nums (n INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO nums
  WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 999)
  SELECT n FROM s;

-- InnoDB, the default row format: the bulk of the data (about 105 MB).
CREATE TABLE orders (
  id INT UNSIGNED PRIMARY KEY,
  customer INT UNSIGNED NOT NULL,
  placed DATETIME NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  status ENUM('new', 'paid', 'shipped', 'returned') NOT NULL,
  ref CHAR(32) NOT NULL,
  note VARBINARY(200) NOT NULL,
  KEY (customer, placed),
  KEY (ref),
  KEY (status, amount)
) ENGINE=InnoDB;
INSERT INTO orders
  SELECT a.n * 1000 + b.n,
    CRC32(a.n * 1000 + b.n) % 50000,
    '2020-01-01' + INTERVAL (CRC32(CONCAT('p', a.n, '/', b.n)) % 150000000) SECOND,
    (CRC32(CONCAT('a', a.n, '/', b.n)) % 10000000) / 100,
    1 + CRC32(CONCAT('s', a.n, '/', b.n)) % 4,
    MD5(a.n * 1000 + b.n),
    RANDOM_BYTES(80 + (a.n + b.n) % 120)
  FROM nums a, nums b WHERE a.n < 250;

-- InnoDB compressed pages, rows of 12 KiB stored off-page, and a full-text
-- index (its auxiliary FTS_*.ibd tablespaces are members of the backup too).
CREATE TABLE docs (
  id INT UNSIGNED PRIMARY KEY,
  title VARCHAR(100) NOT NULL,
  body MEDIUMBLOB NOT NULL,
  FULLTEXT KEY (title)
) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
INSERT INTO docs
  SELECT n, CONCAT('doc ', n, ' ', MD5(n), ' ', SHA1(n)),
    CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024),
      RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024),
      RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024),
      RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024))
  FROM nums a WHERE n < 1000
  UNION ALL
  SELECT 1000 + n, CONCAT('doc ', 1000 + n), RANDOM_BYTES(n) FROM nums;

-- InnoDB, partitioned: one tablespace per partition (t#P#p0.ibd ...).
CREATE TABLE readings (
  id INT UNSIGNED NOT NULL,
  sensor SMALLINT UNSIGNED NOT NULL,
  value DOUBLE NOT NULL,
  PRIMARY KEY (id),
  KEY (sensor, value)
) ENGINE=InnoDB PARTITION BY HASH (id) PARTITIONS 4;
INSERT INTO readings
  SELECT a.n * 1000 + b.n, (a.n * 31 + b.n) % 500, RAND(a.n * 1000 + b.n) * 1e6
  FROM nums a, nums b WHERE a.n < 100;

-- MyISAM: .MYD and .MYI files, copied by mariabackup under its lock.
CREATE TABLE events_myisam (
  id INT UNSIGNED PRIMARY KEY,
  kind SMALLINT NOT NULL,
  payload VARBINARY(255) NOT NULL,
  KEY (kind)
) ENGINE=MyISAM;
INSERT INTO events_myisam
  SELECT a.n * 1000 + b.n, (a.n * 7 + b.n) % 1000, RANDOM_BYTES(100)
  FROM nums a, nums b WHERE a.n < 200;

-- Aria, crash-safe: .MAD and .MAI files and the aria_log.
CREATE TABLE log_aria (
  id INT UNSIGNED PRIMARY KEY,
  at TIMESTAMP NOT NULL,
  line VARCHAR(255) NOT NULL,
  KEY (at)
) ENGINE=Aria TRANSACTIONAL=1;
INSERT INTO log_aria
  SELECT a.n * 1000 + b.n, FROM_UNIXTIME(1600000000 + a.n * 1000 + b.n),
    CONCAT(SHA2(a.n * 1000 + b.n, 256), ' ', TO_BASE64(RANDOM_BYTES(40)))
  FROM nums a, nums b WHERE a.n < 200;

FLUSH TABLES;
