package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// CountedTables are the tables whose rows a project's quotas count one by
// one. Triggers keep the number of each project's rows in project_counts
// in the transaction of every write, so a quota check reads one row
// instead of counting a project's rows on every create.
var CountedTables = []string{"databases", "users", "topics", "acls", "prometheus_metrics_tokens"}

// countsMigration is migration 10: the project_counts table, filled from
// the rows stored, and the triggers that keep it exact, written
// differently for each dialect (so it is a Go migration).
//
// The triggers run at once (not deferred to the commit): a transaction
// sees its own writes in its counts, as it would with COUNT(*). Quota
// checks lock the project first (LockProject), so writers of one project
// update its counts one after the other.
func countsMigration(dialect string) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		stmts := []string{`CREATE TABLE project_counts (
			project_id TEXT NOT NULL,
			resource TEXT NOT NULL,
			n BIGINT NOT NULL,
			PRIMARY KEY (project_id, resource)
		)`}
		for _, t := range CountedTables {
			stmts = append(stmts, `INSERT INTO project_counts (project_id, resource, n)
				SELECT project_id, '`+t+`', COUNT(*) FROM `+t+` GROUP BY project_id`)
		}
		if dialect == Postgres {
			stmts = append(stmts, `CREATE FUNCTION dbaasd_count_project_rows() RETURNS trigger
				LANGUAGE plpgsql AS $$
				BEGIN
					IF TG_OP <> 'INSERT' THEN
						UPDATE project_counts SET n = n - 1 WHERE project_id = OLD.project_id AND resource = TG_TABLE_NAME;
					END IF;
					IF TG_OP <> 'DELETE' THEN
						INSERT INTO project_counts AS c (project_id, resource, n) VALUES (NEW.project_id, TG_TABLE_NAME, 1)
							ON CONFLICT (project_id, resource) DO UPDATE SET n = c.n + 1;
					END IF;
					RETURN NULL;
				END $$`)
			for _, t := range CountedTables {
				stmts = append(stmts, `CREATE TRIGGER `+t+`_project_count_insert_delete
					AFTER INSERT OR DELETE ON `+t+` FOR EACH ROW EXECUTE FUNCTION dbaasd_count_project_rows()`,
					`CREATE TRIGGER `+t+`_project_count_update
					AFTER UPDATE OF project_id ON `+t+` FOR EACH ROW
					WHEN (NEW.project_id IS DISTINCT FROM OLD.project_id)
					EXECUTE FUNCTION dbaasd_count_project_rows()`)
			}
		} else {
			for _, t := range CountedTables {
				inc := `INSERT INTO project_counts (project_id, resource, n) VALUES (NEW.project_id, '` + t + `', 1)
					ON CONFLICT (project_id, resource) DO UPDATE SET n = n + 1;`
				dec := `UPDATE project_counts SET n = n - 1 WHERE project_id = OLD.project_id AND resource = '` + t + `';`
				stmts = append(stmts,
					`CREATE TRIGGER `+t+`_count_insert AFTER INSERT ON `+t+` BEGIN `+inc+` END`,
					`CREATE TRIGGER `+t+`_count_delete AFTER DELETE ON `+t+` BEGIN `+dec+` END`,
					`CREATE TRIGGER `+t+`_count_update AFTER UPDATE OF project_id ON `+t+`
						WHEN NEW.project_id IS NOT OLD.project_id BEGIN `+dec+inc+` END`)
			}
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("project counts: %w", err)
			}
		}
		return nil
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		var stmts []string
		for _, t := range CountedTables {
			if dialect == Postgres {
				stmts = append(stmts, `DROP TRIGGER `+t+`_project_count_insert_delete ON `+t,
					`DROP TRIGGER `+t+`_project_count_update ON `+t)
			} else {
				stmts = append(stmts, `DROP TRIGGER `+t+`_count_insert`, `DROP TRIGGER `+t+`_count_delete`,
					`DROP TRIGGER `+t+`_count_update`)
			}
		}
		if dialect == Postgres {
			stmts = append(stmts, `DROP FUNCTION dbaasd_count_project_rows()`)
		}
		stmts = append(stmts, `DROP TABLE project_counts`)
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("project counts: %w", err)
			}
		}
		return nil
	}
	return goose.NewGoMigration(10, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}

// readCounts sets the counts of a project's rows in the tables named by
// dst's keys (unset ones: no rows).
func (o *ops) readCounts(ctx context.Context, projectID string, dst map[string]*int64) error {
	rows, err := o.query(ctx, "SELECT resource, n FROM project_counts WHERE project_id = ?", projectID)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return err
		}
		if p := dst[r]; p != nil {
			*p = n
		}
	}
	return rows.Err()
}
