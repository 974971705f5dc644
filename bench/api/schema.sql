-- Benchmark data for bench/api: database Main, table Users (the schema of hack/seed.sql) with
-- exactly 10,000 rows, generated here by a recursive CTE. One name in four is non-ASCII (2- to 4-byte
-- UTF-8), so the JSON encoder's non-ASCII path is part of what is measured.
-- Idempotent: re-running it recreates the table with the same rows.
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE DATABASE IF NOT EXISTS `Main` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE `Main`;

DROP TABLE IF EXISTS `Users`;
CREATE TABLE `Users` (
  `user_id`  INT          NOT NULL PRIMARY KEY,
  `username` VARCHAR(255) NOT NULL,
  `email`    VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

SET SESSION max_recursive_iterations = 20000;

INSERT INTO `Users` (`user_id`, `username`, `email`)
WITH RECURSIVE seq (n) AS (
  SELECT 1
  UNION ALL
  SELECT n + 1 FROM seq WHERE n < 10000
)
SELECT
  n,
  CONCAT(ELT(1 + n % 8, 'Alice', 'Zoë', 'Bob', '渡辺', 'Charlie', 'Дмитрий', 'Diana', 'Chloé 🎉'), '-', n),
  CONCAT('user', n, '@example.com')
FROM seq;
