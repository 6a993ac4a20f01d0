-- The reference for `userbridge export --format tsv` (the 11 default fields): the sqlite3
-- CLI writes the same columns, in the same order, from the same database file.
.headers on
.mode tabs
SELECT u.user_id AS "Id", u.given_name AS "Given Name", u.family_name AS "Family Name",
       u.nickname AS "Nickname", u.name AS "Name", u.email AS "Email",
       CASE u.email_verified WHEN 1 THEN 'true' ELSE 'false' END AS "Email Verified",
       u.picture AS "Picture", c.name AS "Connection",
       u.created_at AS "Created At", u.updated_at AS "Updated At"
FROM users u JOIN connections c ON c.id = u.connection_id
ORDER BY u.user_id;
