-- Benchmark data for bench/api: table Main.Users (created by hack/seed.sql, loaded first) with
-- exactly 10,000 rows, generated here by a recursive CTE. One name in four is non-ASCII (2- to 4-byte
-- UTF-8), so the JSON encoder's non-ASCII path is part of what is measured.
-- Idempotent: re-running it leaves the table with the same rows.
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;

-- The schema is hack/seed.sql's (run.sh loads it first); its rows are replaced here.
USE `Main`;
DELETE FROM `Users`;

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
