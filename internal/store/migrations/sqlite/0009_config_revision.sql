-- config_revision counts changes to the on-call configuration and to integrations (their teams
-- route alerts), whoever makes them: the server, `tocsin apply` in another process, another
-- replica. The escalation engine keeps what it decoded of the configuration while the count stays.
CREATE TABLE config_revision (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);
INSERT INTO config_revision (id, n) VALUES (1, 1);
CREATE TRIGGER oncall_objects_ins AFTER INSERT ON oncall_objects BEGIN UPDATE config_revision SET n = n + 1; END;
CREATE TRIGGER oncall_objects_upd AFTER UPDATE ON oncall_objects BEGIN UPDATE config_revision SET n = n + 1; END;
CREATE TRIGGER oncall_objects_del AFTER DELETE ON oncall_objects BEGIN UPDATE config_revision SET n = n + 1; END;
CREATE TRIGGER integrations_ins AFTER INSERT ON integrations BEGIN UPDATE config_revision SET n = n + 1; END;
CREATE TRIGGER integrations_upd AFTER UPDATE ON integrations BEGIN UPDATE config_revision SET n = n + 1; END;
CREATE TRIGGER integrations_del AFTER DELETE ON integrations BEGIN UPDATE config_revision SET n = n + 1; END;
