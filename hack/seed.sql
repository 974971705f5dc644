-- Seed data for src/UserApi: database Main, table Users (user_id, username, email).
-- Idempotent: re-running it recreates the table with exactly these rows.
-- Load with: hack/mariadb.sh seed   (or: mariadb --default-character-set=utf8mb4 < hack/seed.sql)
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE DATABASE IF NOT EXISTS `Main` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE `Main`;

DROP TABLE IF EXISTS `Users`;
CREATE TABLE `Users` (
  `user_id`  INT          NOT NULL PRIMARY KEY,
  `username` VARCHAR(255) NOT NULL,
  `email`    VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO `Users` (`user_id`, `username`, `email`) VALUES
  (1,  'Alice',        'alice@example.com'),
  (2,  'Bob',          'bob@example.com'),
  (3,  'Charlie',      'charlie@example.com'),
  (4,  'Zoë',          'zoe@example.com'),
  (5,  'José',         'jose@example.com'),
  (6,  'Łukasz',       'lukasz@example.com'),
  (7,  'Ærøskøbing',   'aeroskobing@example.com'),
  (8,  '渡辺',         'watanabe@example.com'),
  (9,  'Дмитрий',      'dmitry@example.com'),
  (10, 'Diana',        'diana@example.com'),
  (11, 'Edward',       'edward@example.com'),
  (12, 'Fatima',       'fatima@example.com'),
  (13, 'Günther',      'guenther@example.com'),
  (14, 'Hélène',       'helene@example.com'),
  (15, 'Ingrid',       'ingrid@example.com'),
  (16, 'Jürgen',       'juergen@example.com'),
  (17, 'Kateřina',     'katerina@example.com'),
  (18, 'Liam',         'liam@example.com'),
  (19, 'Mårten',       'marten@example.com'),
  (20, 'Nadia',        'nadia@example.com'),
  (21, 'Oğuz',         'oguz@example.com'),
  (22, 'Priya',        'priya@example.com'),
  (23, 'Quentin',      'quentin@example.com'),
  (24, 'Rūta',         'ruta@example.com'),
  (25, 'Søren',        'soren@example.com'),
  (26, 'Tomás',        'tomas@example.com'),
  (27, 'Ulrike',       'ulrike@example.com'),
  (28, 'Václav',       'vaclav@example.com'),
  (29, 'Wiktoria',     'wiktoria@example.com'),
  (30, 'Xiadani',      'xiadani@example.com'),
  (31, 'Yusuf',        'yusuf@example.com'),
  (32, 'Zbigniew',     'zbigniew@example.com'),
  (33, 'Αθηνά',        'athina@example.com'),
  (34, 'محمد',         'mohammed@example.com'),
  (35, '김민준',        'minjun@example.com'),
  (36, 'Ñandú',        'nandu@example.com'),
  (37, 'Chloé 🎉',     'chloe@example.com'),
  (38, 'O''Brien',     'obrien@example.com'),
  (39, 'Grace',        'grace@example.com'),
  (40, 'Henry',        'henry@example.com');
