-- config_revision counts changes to the on-call configuration and to integrations (their teams
-- route alerts), whoever makes them: the server, `tocsin apply` in another process, another
-- replica. The escalation engine keeps what it decoded of the configuration while the count stays.
CREATE TABLE config_revision (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);
INSERT INTO config_revision (id, n) VALUES (1, 1);
CREATE FUNCTION bump_config_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_revision SET n = n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER oncall_objects_changed AFTER INSERT OR UPDATE OR DELETE ON oncall_objects
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
CREATE TRIGGER integrations_changed AFTER INSERT OR UPDATE OR DELETE ON integrations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
