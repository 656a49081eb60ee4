package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/dbaasd/dbaasd/internal/model"
)

// VersionedTables are the tables whose every write changes the version of
// the project of the rows written (ProjectVersion): what an answer about a
// datastore is made of (the datastore, its instances, the counts of its
// databases and topics) and the tokens that authenticate the project's
// callers. Triggers do it in the database, so every writer — the API, the
// reconciler, another dbaasd replica, a tool — bumps the version in the
// transaction of its write.
var VersionedTables = []string{"tokens", "datastores", "instances", "databases", "topics"}

// versionsMigration is migration 7: the project_versions table and the
// triggers that maintain it, which are written differently for each
// dialect (so it is a Go migration).
//
// On PostgreSQL the triggers are constraint triggers deferred to the
// commit: the version row is locked only at the very end of a transaction,
// when the transaction waits for nothing else, so bumping it cannot
// deadlock with the row locks a transaction takes while it works (and the
// projects row LockProject takes is another row). SQLite serialises its
// writers anyway.
func versionsMigration(dialect string) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		stmts := []string{`CREATE TABLE project_versions (
			project_id TEXT PRIMARY KEY,
			version BIGINT NOT NULL
		)`}
		if dialect == Postgres {
			stmts = append(stmts, `CREATE FUNCTION dbaasd_bump_project_version() RETURNS trigger
				LANGUAGE plpgsql AS $$
				BEGIN
					IF TG_OP <> 'INSERT' THEN
						INSERT INTO project_versions AS v (project_id, version) VALUES (OLD.project_id, 1)
							ON CONFLICT (project_id) DO UPDATE SET version = v.version + 1;
					END IF;
					IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.project_id IS DISTINCT FROM OLD.project_id) THEN
						INSERT INTO project_versions AS v (project_id, version) VALUES (NEW.project_id, 1)
							ON CONFLICT (project_id) DO UPDATE SET version = v.version + 1;
					END IF;
					RETURN NULL;
				END $$`)
			for _, t := range VersionedTables {
				stmts = append(stmts, `CREATE CONSTRAINT TRIGGER `+t+`_project_version
					AFTER INSERT OR UPDATE OR DELETE ON `+t+`
					DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
					EXECUTE FUNCTION dbaasd_bump_project_version()`)
			}
		} else {
			bump := func(row string) string {
				return `INSERT INTO project_versions (project_id, version) SELECT ` + row + `.project_id, 1 WHERE true
					ON CONFLICT (project_id) DO UPDATE SET version = version + 1;`
			}
			for _, t := range VersionedTables {
				stmts = append(stmts,
					`CREATE TRIGGER `+t+`_version_insert AFTER INSERT ON `+t+` BEGIN `+bump("NEW")+` END`,
					`CREATE TRIGGER `+t+`_version_delete AFTER DELETE ON `+t+` BEGIN `+bump("OLD")+` END`,
					`CREATE TRIGGER `+t+`_version_update AFTER UPDATE ON `+t+` BEGIN `+bump("OLD")+
						strings.Replace(bump("NEW"), "WHERE true", "WHERE NEW.project_id IS NOT OLD.project_id", 1)+` END`)
			}
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("project versions: %w", err)
			}
		}
		return nil
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		var stmts []string
		for _, t := range VersionedTables {
			if dialect == Postgres {
				stmts = append(stmts, `DROP TRIGGER `+t+`_project_version ON `+t)
			} else {
				stmts = append(stmts, `DROP TRIGGER `+t+`_version_insert`, `DROP TRIGGER `+t+`_version_delete`,
					`DROP TRIGGER `+t+`_version_update`)
			}
		}
		if dialect == Postgres {
			stmts = append(stmts, `DROP FUNCTION dbaasd_bump_project_version()`)
		}
		stmts = append(stmts, `DROP TABLE project_versions`)
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("project versions: %w", err)
			}
		}
		return nil
	}
	return goose.NewGoMigration(7, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}

// ProjectVersion implements Tx.
func (o *ops) ProjectVersion(ctx context.Context, projectID string) (int64, error) {
	var v int64
	err := o.queryRow(ctx, "SELECT version FROM project_versions WHERE project_id = ?", projectID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("version of project %s: %w", projectID, err)
	}
	return v, nil
}

// AuthToken implements Tx: one statement reads the token and the version
// of its project, so the two are consistent.
func (o *ops) AuthToken(ctx context.Context, hash string) (*model.Token, int64, error) {
	var t model.Token
	var exp sql.NullInt64
	var ca, v int64
	err := o.queryRow(ctx, `SELECT t.hash, t.project_id, t.admin, t.source, t.user_name, t.expires_at, t.created_at,
		COALESCE(v.version, 0) FROM tokens t LEFT JOIN project_versions v ON v.project_id = t.project_id
		WHERE t.hash = ?`, hash).Scan(&t.Hash, &t.ProjectID, &t.Admin, &t.Source, &t.UserName, &exp, &ca, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get token: %w", err)
	}
	t.ExpiresAt, t.CreatedAt = fromTSPtr(exp), fromTS(ca)
	return &t, v, nil
}

// RehashToken implements Tx.
func (o *ops) RehashToken(ctx context.Context, oldHash, newHash string) error {
	res, err := o.exec(ctx, "UPDATE tokens SET hash = ? WHERE hash = ?", newHash, oldHash)
	if err != nil {
		if isUniqueViolation(err) {
			// Upgraded already (by a concurrent request or replica).
			_, err = o.exec(ctx, "DELETE FROM tokens WHERE hash = ?", oldHash)
			if err == nil {
				return nil
			}
		}
		return fmt.Errorf("rehash token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("rehash token: %w", ErrNotFound)
	}
	return nil
}

// CountLegacyTokens implements Tx.
func (o *ops) CountLegacyTokens(ctx context.Context) (int, error) {
	var n int
	if err := o.queryRow(ctx, "SELECT COUNT(*) FROM tokens WHERE hash LIKE 'sha256:%'").Scan(&n); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// tableVersionsMigration is migration 9: table_versions, with the version
// of the datastores table, which grows in the same transaction as every
// write of a datastore row (a trigger, deferred to the commit on
// PostgreSQL as in migration 7). It lets periodic loops read every
// datastore's summary from memory while no datastore changed.
func tableVersionsMigration(dialect string) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		stmts := []string{`CREATE TABLE table_versions (
			name TEXT PRIMARY KEY,
			version BIGINT NOT NULL
		)`, `INSERT INTO table_versions (name, version) VALUES ('datastores', 1)`}
		if dialect == Postgres {
			stmts = append(stmts, `CREATE FUNCTION dbaasd_bump_datastores_version() RETURNS trigger
				LANGUAGE plpgsql AS $$
				BEGIN
					UPDATE table_versions SET version = version + 1 WHERE name = 'datastores';
					RETURN NULL;
				END $$`,
				`CREATE CONSTRAINT TRIGGER datastores_table_version
					AFTER INSERT OR UPDATE OR DELETE ON datastores
					DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
					EXECUTE FUNCTION dbaasd_bump_datastores_version()`)
		} else {
			for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
				stmts = append(stmts, `CREATE TRIGGER datastores_table_version_`+strings.ToLower(op)+
					` AFTER `+op+` ON datastores BEGIN
					UPDATE table_versions SET version = version + 1 WHERE name = 'datastores'; END`)
			}
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("table versions: %w", err)
			}
		}
		return nil
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		stmts := []string{}
		if dialect == Postgres {
			stmts = append(stmts, `DROP TRIGGER datastores_table_version ON datastores`,
				`DROP FUNCTION dbaasd_bump_datastores_version()`)
		} else {
			for _, op := range []string{"insert", "update", "delete"} {
				stmts = append(stmts, `DROP TRIGGER datastores_table_version_`+op)
			}
		}
		stmts = append(stmts, `DROP TABLE table_versions`)
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("table versions: %w", err)
			}
		}
		return nil
	}
	return goose.NewGoMigration(9, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}
