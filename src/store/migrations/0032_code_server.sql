-- gpupool schema, version 32: the code-server (VS Code in the browser) an image's contract
-- check found; sessions from it offer VS Code through the gateway.
ALTER TABLE images ADD COLUMN check_code_server TEXT NOT NULL DEFAULT '';
