-- gpupool schema, version 18: SSH through the gateway host, for GPU servers on a private
-- network: a port of the gateway's own, forwarded to the session's SSH port on its node.
ALTER TABLE sessions ADD COLUMN gateway_ssh_port INTEGER NOT NULL DEFAULT 0;
