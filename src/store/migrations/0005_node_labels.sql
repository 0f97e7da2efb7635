-- gpupool schema, version 5: node labels and the sessions' node selectors (JSON objects).
ALTER TABLE nodes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN node_selector TEXT NOT NULL DEFAULT '{}';
