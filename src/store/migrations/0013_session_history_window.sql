-- gpupool schema, version 13: the scheduler reads the sessions still active and those ended
-- recently (fair share forgets the rest), not every session ever stored.
CREATE INDEX sessions_ended_by_time ON sessions(ended_at) WHERE state = 'ended';
