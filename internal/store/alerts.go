package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// Inserter enqueues a River job inside a transaction; internal/jobs provides it.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, job alert.Job, at time.Time) error
}

// Alerts implements alert.Store.
type Alerts struct {
	db   *DB
	jobs Inserter
}

// Alerts returns the alert store; jobs enqueued by alert changes go through ins.
func (db *DB) Alerts(ins Inserter) *Alerts {
	return &Alerts{db: db, jobs: ins}
}

var _ alert.Store = (*Alerts)(nil)

// InTx implements alert.Store.
func (s *Alerts) InTx(ctx context.Context, fn func(alert.Tx) error) error {
	return s.db.inTx(ctx, func(tx *sql.Tx) error {
		return s.db.runAlertTx(ctx, tx, s.jobs, func(t *alertTx) error { return fn(t) })
	})
}

const alertColumns = `id, tiny_id, alias, message, description, responders, visible_to, actions, tags, details,
	entity, source, priority, owner, status, acknowledged, seen, snoozed, snoozed_until, count,
	created_at, updated_at, last_occurred_at, integration_id, integration_name, integration_type,
	ack_time, close_time, acknowledged_by, closed_by, escalation_epoch, source_version`

type scanner interface {
	Scan(dest ...any) error
}

func scanAlert(row scanner) (*alert.Alert, error) {
	var (
		a                                             alert.Alert
		responders, visibleTo, actions, tags, details string
		snoozedUntil, created, updated, lastOccurred  int64
		priority, status                              string
	)
	err := row.Scan(&a.ID, &a.TinyID, &a.Alias, &a.Message, &a.Description, &responders, &visibleTo, &actions, &tags, &details,
		&a.Entity, &a.Source, &priority, &a.Owner, &status, &a.Acknowledged, &a.Seen, &a.Snoozed, &snoozedUntil, &a.Count,
		&created, &updated, &lastOccurred, &a.Integration.ID, &a.Integration.Name, &a.Integration.Type,
		&a.Report.AckTime, &a.Report.CloseTime, &a.Report.AcknowledgedBy, &a.Report.ClosedBy, &a.EscalationEpoch, &a.SourceVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, alert.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read alert: %w", err)
	}
	a.Priority, a.Status = alert.Priority(priority), alert.Status(status)
	a.SnoozedUntil, a.CreatedAt, a.UpdatedAt, a.LastOccurredAt = fromMillis(snoozedUntil), fromMillis(created), fromMillis(updated), fromMillis(lastOccurred)
	for _, f := range []struct {
		src string
		dst any
	}{{responders, &a.Responders}, {visibleTo, &a.VisibleTo}, {actions, &a.Actions}, {tags, &a.Tags}, {details, &a.Details}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, fmt.Errorf("decode alert %s: %w", a.ID, err)
		}
	}
	return &a, nil
}

// alertArgs returns the alert's values in alertColumns order.
func alertArgs(a *alert.Alert) ([]any, error) {
	var js [5]string
	for i, v := range []any{nonNil(a.Responders), nonNil(a.VisibleTo), nonNil(a.Actions), nonNil(a.Tags), nonNilMap(a.Details)} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", a.ID, err)
		}
		js[i] = string(b)
	}
	return []any{a.ID, a.TinyID, a.Alias, a.Message, a.Description, js[0], js[1], js[2], js[3], js[4],
		a.Entity, a.Source, string(a.Priority), a.Owner, string(a.Status), a.Acknowledged, a.Seen, a.Snoozed, millis(a.SnoozedUntil), a.Count,
		millis(a.CreatedAt), millis(a.UpdatedAt), millis(a.LastOccurredAt), a.Integration.ID, a.Integration.Name, a.Integration.Type,
		a.Report.AckTime, a.Report.CloseTime, a.Report.AcknowledgedBy, a.Report.ClosedBy, a.EscalationEpoch, a.SourceVersion}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// placeholders returns "$from, … $to".
func placeholders(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

var (
	insertAlertSQL = `INSERT INTO alerts (` + alertColumns + `) VALUES (` + placeholders(1, 32) + `)`
	// insertAlertPGSQL takes the tiny id from the sequence in the INSERT itself: on PostgreSQL every
	// statement is a round trip. Its arguments are alertArgs without the tiny id.
	insertAlertPGSQL = `INSERT INTO alerts (` + alertColumns + `) VALUES ($1, nextval('alert_tiny_id'), ` + placeholders(2, 31) + `) RETURNING tiny_id`
	updateAlertSQL   = func() string {
		cols := strings.Split(alertColumns, ",")
		var sets []string
		for i, c := range cols[1:] { // every column but id
			sets = append(sets, fmt.Sprintf("%s = $%d", strings.TrimSpace(c), i+2))
		}
		return `UPDATE alerts SET ` + strings.Join(sets, ", ") + ` WHERE id = $1`
	}()
)

// where returns the SQL condition and arguments that select ref.
func where(ref alert.Ref) (string, []any, error) {
	switch ref.Type {
	case alert.ByID:
		return `id = $1`, []any{ref.Value}, nil
	case alert.ByTiny:
		n, err := strconv.ParseInt(ref.Value, 10, 64)
		if err != nil {
			return "", nil, alert.ErrNotFound
		}
		return `tiny_id = $1`, []any{n}, nil
	case alert.ByAlias:
		// The open alert with the alias if there is one, else the newest.
		return `alias = $1 ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, created_at DESC LIMIT 1`, []any{ref.Value}, nil
	}
	return "", nil, fmt.Errorf("unknown identifier type %q", ref.Type)
}

// Get implements alert.Store.
func (s *Alerts) Get(ctx context.Context, ref alert.Ref) (*alert.Alert, error) {
	cond, args, err := where(ref)
	if err != nil {
		return nil, err
	}
	return scanAlert(s.db.read.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE `+cond, args...))
}

// List implements alert.Store.
func (s *Alerts) List(ctx context.Context, opts alert.ListOptions) ([]*alert.Alert, error) {
	cond, args := s.db.filter(opts.Query)
	col := map[alert.SortField]string{
		alert.SortCreatedAt: "created_at", alert.SortUpdatedAt: "updated_at", alert.SortLastOccurredAt: "last_occurred_at",
		alert.SortTinyID: "tiny_id", alert.SortPriority: "priority", alert.SortCount: "count", alert.SortMessage: "message",
		alert.SortStatus: "status", alert.SortAlias: "alias",
	}[opts.Sort]
	if col == "" {
		col = "created_at"
	}
	dir := "DESC"
	if opts.Order == alert.Asc {
		dir = "ASC"
	}
	q := fmt.Sprintf(`SELECT %s FROM alerts WHERE %s ORDER BY %s %s, tiny_id %s LIMIT %d OFFSET %d`,
		alertColumns, cond, col, dir, dir, opts.Limit, opts.Offset)
	rows, err := s.db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []*alert.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Count implements alert.Store.
func (s *Alerts) Count(ctx context.Context, q alert.Query) (int, error) {
	cond, args := s.db.filter(q)
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts WHERE `+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count alerts: %w", err)
	}
	return n, nil
}

// filter turns a query into a WHERE condition with $n arguments.
func (db *DB) filter(q alert.Query) (string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	like := "LIKE" // SQLite's LIKE ignores ASCII case
	if db.dialect == Postgres {
		like = "ILIKE"
	}
	if q.Status != "" {
		add(`status = ?`, string(q.Status))
	}
	if q.Acknowledged != nil {
		add(`acknowledged = ?`, *q.Acknowledged)
	}
	if q.Snoozed != nil {
		add(`snoozed = ?`, *q.Snoozed)
	}
	if len(q.Priorities) > 0 {
		var ors []string
		for _, p := range q.Priorities {
			args = append(args, string(p))
			ors = append(ors, "priority = $"+strconv.Itoa(len(args)))
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	for _, t := range q.Tags {
		// Tags are a JSON array; a tag matches exactly as its JSON string, quotes included.
		b, _ := json.Marshal(t)
		add(`tags LIKE ? ESCAPE '\'`, "%"+escapeLike(string(b))+"%")
	}
	for _, f := range []struct{ col, val string }{{"alias", q.Alias}, {"source", q.Source}, {"entity", q.Entity}, {"owner", q.Owner}, {"integration_name", q.Integration}} {
		if f.val != "" {
			add(f.col+` = ?`, f.val)
		}
	}
	if q.TinyID != 0 {
		add(`tiny_id = ?`, q.TinyID)
	}
	for _, t := range q.Text {
		add(`message `+like+` ? ESCAPE '\'`, "%"+escapeLike(t)+"%")
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Notes implements alert.Store.
func (s *Alerts) Notes(ctx context.Context, alertID string, p alert.Page) ([]alert.Note, error) {
	rows, err := s.db.read.QueryContext(ctx, pageSQL(`id, alert_id, note, owner, created_at`, "alert_notes", p), alertID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list notes: %w", err)
	}
	defer rows.Close()
	var out []alert.Note
	for rows.Next() {
		var n alert.Note
		var created int64
		if err := rows.Scan(&n.ID, &n.AlertID, &n.Text, &n.Owner, &created); err != nil {
			return nil, fmt.Errorf("read note: %w", err)
		}
		n.CreatedAt = fromMillis(created)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Logs implements alert.Store.
func (s *Alerts) Logs(ctx context.Context, alertID string, p alert.Page) ([]alert.LogEntry, error) {
	rows, err := s.db.read.QueryContext(ctx, pageSQL(`id, alert_id, type, log, owner, created_at`, "alert_logs", p), alertID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	defer rows.Close()
	var out []alert.LogEntry
	for rows.Next() {
		var e alert.LogEntry
		var created int64
		if err := rows.Scan(&e.ID, &e.AlertID, &e.Type, &e.Text, &e.Owner, &created); err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		e.CreatedAt = fromMillis(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

func pageSQL(cols, table string, p alert.Page) string {
	if p.Desc {
		return `SELECT ` + cols + ` FROM ` + table + ` WHERE alert_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`
	}
	return `SELECT ` + cols + ` FROM ` + table + ` WHERE alert_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3`
}

// RequestStatus implements alert.Store.
func (s *Alerts) RequestStatus(ctx context.Context, id string) (*alert.RequestStatus, error) {
	var r alert.RequestStatus
	var processed int64
	err := s.db.read.QueryRowContext(ctx, `SELECT id, action, alert_id, alias, integration_id, success, status, processed_at FROM requests WHERE id = $1`, id).
		Scan(&r.ID, &r.Action, &r.AlertID, &r.Alias, &r.IntegrationID, &r.Success, &r.Status, &processed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, alert.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read request status: %w", err)
	}
	r.ProcessedAt = fromMillis(processed)
	return &r, nil
}

// alertTx implements alert.Tx on one database transaction.
type alertTx struct {
	tx   *sql.Tx
	db   *DB
	jobs Inserter
	// logs wait to be written together when the transaction's work is done: a create writes three
	// (created, escalation started, notified), and one INSERT of several rows costs little more
	// than one of a single row.
	logs []*alert.LogEntry
}

// runAlertTx runs fn on a transaction's alertTx and writes its pending log lines after it.
func (db *DB) runAlertTx(ctx context.Context, tx *sql.Tx, jobs Inserter, fn func(*alertTx) error) error {
	t := &alertTx{tx: tx, db: db, jobs: jobs}
	if err := fn(t); err != nil {
		return err
	}
	return t.flushLogs(ctx)
}

// maxLogsPerInsert is the most log lines one INSERT writes; the statements for 1 to this many rows
// are prepared.
const maxLogsPerInsert = 4

// insertLogsSQL inserts n log lines.
func insertLogsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO alert_logs (alert_id, type, log, owner, created_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d)", 5*i+1, 5*i+2, 5*i+3, 5*i+4, 5*i+5)
	}
	return b.String()
}

func (t *alertTx) flushLogs(ctx context.Context) error {
	for len(t.logs) > 0 {
		n := min(len(t.logs), maxLogsPerInsert)
		args := make([]any, 0, 5*n)
		for _, e := range t.logs[:n] {
			args = append(args, e.AlertID, e.Type, e.Text, e.Owner, millis(e.CreatedAt))
		}
		if _, err := t.exec(ctx, insertLogsSQL(n), args...); err != nil {
			return fmt.Errorf("add log: %w", err)
		}
		t.logs = t.logs[n:]
	}
	t.logs = nil
	return nil
}

// exec and queryRow run a statement in the transaction, prepared once when it is one of the hot
// queries: parsing SQL is a sixth of a create's cost on SQLite.
func (t *alertTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return stmtQuerier{tx: t.tx, db: t.db}.ExecContext(ctx, query, args...)
}

func (t *alertTx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return stmtQuerier{tx: t.tx, db: t.db}.QueryRowContext(ctx, query, args...)
}

func (t *alertTx) forUpdate() string { return t.db.forUpdate() }

func (db *DB) forUpdate() string {
	if db.dialect == Postgres {
		return " FOR UPDATE"
	}
	return "" // SQLite's single writer already excludes other writers
}

func (db *DB) openByAliasSQL() string {
	return `SELECT ` + alertColumns + ` FROM alerts WHERE alias = $1 AND status = 'open'` + db.forUpdate()
}

const nextTinyIDSQL = `UPDATE counters SET value = value + 1 WHERE name = 'alert_tiny_id' RETURNING value` // SQLite's sequence

const (
	insertNoteSQL    = `INSERT INTO alert_notes (alert_id, note, owner, created_at) VALUES ($1, $2, $3, $4) RETURNING id`
	insertRequestSQL = `INSERT INTO requests (id, action, alert_id, alias, integration_id, success, status, processed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	rememberSQL      = `INSERT INTO intake_messages (integration_id, message_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
)

// hotQueries are the statements every create, action and intake message runs.
func (db *DB) hotQueries() []string {
	q := []string{updateAlertSQL, db.openByAliasSQL(), db.latestByAliasSQL(), insertNoteSQL, insertRequestSQL, rememberSQL, insertNotificationSQL, getObjectSQL, integrationTeamSQL, updateNotificationSQL, configRevisionSQL, scheduleStepSQL, doneStepSQL}
	if db.dialect == Postgres {
		q = append(q, insertAlertPGSQL)
	} else {
		q = append(q, insertAlertSQL, nextTinyIDSQL)
	}
	for n := 1; n <= maxLogsPerInsert; n++ {
		q = append(q, insertLogsSQL(n))
	}
	for _, t := range []alert.IdentifierType{alert.ByID, alert.ByTiny, alert.ByAlias} {
		cond, _, _ := where(alert.Ref{Type: t, Value: "1"})
		q = append(q, `SELECT `+alertColumns+` FROM alerts WHERE `+cond+db.forUpdate())
	}
	return q
}

func (t *alertTx) Lock(ctx context.Context, ref alert.Ref) (*alert.Alert, error) {
	cond, args, err := where(ref)
	if err != nil {
		return nil, err
	}
	return scanAlert(t.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE `+cond+t.forUpdate(), args...))
}

func (t *alertTx) OpenByAlias(ctx context.Context, alias string) (*alert.Alert, error) {
	return scanAlert(t.queryRow(ctx, t.db.openByAliasSQL(), alias))
}

func (db *DB) latestByAliasSQL() string {
	return `SELECT ` + alertColumns + ` FROM alerts WHERE alias = $1 ORDER BY created_at DESC, tiny_id DESC LIMIT 1` + db.forUpdate()
}

func (t *alertTx) LatestByAlias(ctx context.Context, alias string) (*alert.Alert, error) {
	return scanAlert(t.queryRow(ctx, t.db.latestByAliasSQL(), alias))
}

func (t *alertTx) Insert(ctx context.Context, a *alert.Alert) error {
	pg := t.db.dialect == Postgres
	if !pg {
		if err := t.queryRow(ctx, nextTinyIDSQL).Scan(&a.TinyID); err != nil {
			return fmt.Errorf("next tiny id: %w", err)
		}
	}
	args, err := alertArgs(a)
	if err != nil {
		return err
	}
	if pg {
		err = t.queryRow(ctx, insertAlertPGSQL, append(args[:1], args[2:]...)...).Scan(&a.TinyID)
	} else {
		_, err = t.exec(ctx, insertAlertSQL, args...)
	}
	if isUniqueViolation(err) {
		return alert.ErrAliasTaken
	}
	if err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	return nil
}

func (t *alertTx) Update(ctx context.Context, a *alert.Alert) error {
	args, err := alertArgs(a)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, updateAlertSQL, args...)
	if err != nil {
		if isUniqueViolation(err) {
			return alert.ErrAliasTaken
		}
		return fmt.Errorf("update alert %s: %w", a.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return alert.ErrNotFound
	}
	return nil
}

func (t *alertTx) Delete(ctx context.Context, id string) error {
	if err := t.flushLogs(ctx); err != nil { // lines about this alert go with it
		return err
	}
	for _, q := range []string{`DELETE FROM alert_notes WHERE alert_id = $1`, `DELETE FROM alert_logs WHERE alert_id = $1`, `DELETE FROM alerts WHERE id = $1`} {
		if _, err := t.exec(ctx, q, id); err != nil {
			return fmt.Errorf("delete alert %s: %w", id, err)
		}
	}
	return nil
}

func (t *alertTx) AddNote(ctx context.Context, n *alert.Note) error {
	err := t.queryRow(ctx, insertNoteSQL,
		n.AlertID, n.Text, n.Owner, millis(n.CreatedAt)).Scan(&n.ID)
	if err != nil {
		return fmt.Errorf("add note: %w", err)
	}
	return nil
}

// AddLog writes e when the transaction's work is done (see alertTx.logs); e.ID stays 0.
func (t *alertTx) AddLog(_ context.Context, e *alert.LogEntry) error {
	t.logs = append(t.logs, e)
	return nil
}

func (t *alertTx) SaveRequest(ctx context.Context, r *alert.RequestStatus) error {
	_, err := t.exec(ctx, insertRequestSQL,
		r.ID, r.Action, r.AlertID, r.Alias, r.IntegrationID, r.Success, r.Status, millis(r.ProcessedAt))
	if err != nil {
		return fmt.Errorf("save request status: %w", err)
	}
	return nil
}

func (t *alertTx) Remember(ctx context.Context, integrationID, key string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, rememberSQL,
		integrationID, key, millis(at))
	if err != nil {
		return false, fmt.Errorf("remember message %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("remember message %s: %w", key, err)
	}
	return n == 1, nil
}

func (t *alertTx) Enqueue(ctx context.Context, job alert.Job, at time.Time) error {
	if t.jobs == nil {
		return errors.New("enqueue: this store has no job queue")
	}
	return t.jobs.InsertTx(ctx, t.tx, job, at)
}
