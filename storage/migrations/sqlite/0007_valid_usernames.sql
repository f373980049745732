-- Remote usernames are checked when an actor is fetched: ASCII letters,
-- digits, '_', '.' and '-', with neither '.' nor '-' at either end. A name
-- cached before the check that fails it is dropped, and the actor's handle
-- is its id until it is fetched again.
UPDATE actors SET username = ''
WHERE username GLOB '*[^A-Za-z0-9_.-]*' OR username GLOB '[.-]*' OR username GLOB '*[.-]';
