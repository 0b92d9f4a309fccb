package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	"github.com/riverqueue/river/rivermigrate"
)

// migrations are the schema's versions, NNN_name.sql, applied in order by
// tern; each file holds its up SQL and, after tern's
// "---- create above / drop below ----" line, its down SQL. A released
// migration is never edited: changes go in a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is tern's one-row table holding the schema version, in
// the same schema as the tables it versions.
const versionTable = "extractor_schema_version"

// SchemaVersionError says that the database's schema version is not the
// one this code needs. It matches ErrSchemaBehind or ErrSchemaAhead with
// errors.Is.
type SchemaVersionError struct {
	// Schema is the PostgreSQL schema (namespace) the tables live in.
	Schema string
	// Have is the database's version (0: never migrated); Want the code's.
	Have, Want int32
}

func (e *SchemaVersionError) Error() string {
	if e.Have < e.Want {
		return fmt.Sprintf("store: database schema %q is at version %d, this code needs version %d: run the migrations", e.Schema, e.Have, e.Want)
	}
	return fmt.Sprintf("store: database schema %q is at version %d, newer than this code's %d: upgrade the program", e.Schema, e.Have, e.Want)
}

// Is matches ErrSchemaBehind or ErrSchemaAhead.
func (e *SchemaVersionError) Is(target error) bool {
	return (target == ErrSchemaBehind && e.Have < e.Want) || (target == ErrSchemaAhead && e.Have > e.Want)
}

// Migrate brings the database up to this code's schema version: the
// tables go in the first schema of the connection's search_path, with
// tern's version table next to them. It is safe to run again (nothing to
// do) and concurrently (tern holds an advisory lock). Afterwards it resets
// the pool, so connections opened before the vector extension existed
// reconnect with pgvector's types registered.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	m, _, err := migrator(ctx, conn.Conn())
	if err != nil {
		return err
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	conn.Release()
	qm, err := queueMigrator(pool)
	if err != nil {
		return err
	}
	if _, err := qm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: migrating the job queue: %w", err)
	}
	pool.Reset()
	return nil
}

// CheckMigrations returns nil when the database is at this code's schema
// version, and a *SchemaVersionError (ErrSchemaBehind, ErrSchemaAhead)
// when it is not. It changes nothing.
func CheckMigrations(ctx context.Context, pool *pgxpool.Pool) error {
	want, err := LatestVersion()
	if err != nil {
		return err
	}
	var schema *string
	var have int32
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return &SchemaVersionError{Have: 0, Want: want}
	}
	table, err := versionTableName(*schema)
	if err != nil {
		return err
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return err
	}
	if exists {
		if err := pool.QueryRow(ctx, "SELECT version FROM "+table).Scan(&have); err != nil {
			return fmt.Errorf("store: reading the schema version: %w", err)
		}
	}
	if have != want {
		return &SchemaVersionError{Schema: *schema, Have: have, Want: want}
	}
	qm, err := queueMigrator(pool)
	if err != nil {
		return err
	}
	res, err := qm.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: checking the job queue's tables: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w: the job queue's tables: %s", ErrSchemaBehind, strings.Join(res.Messages, "; "))
	}
	return nil
}

// LatestVersion is the schema version this code needs: the number of its
// migrations.
func LatestVersion() (int32, error) {
	names, err := migrate.FindMigrations(migrationsFS())
	if err != nil {
		return 0, err
	}
	return int32(len(names)), nil
}

func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}

// migrator returns tern's migrator for conn's current schema, with the
// embedded migrations loaded.
func migrator(ctx context.Context, conn *pgx.Conn) (*migrate.Migrator, string, error) {
	var schema *string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, "", err
	}
	if schema == nil {
		return nil, "", fmt.Errorf("%w: no schema on the search_path exists to create the tables in", ErrInvalid)
	}
	table, err := versionTableName(*schema)
	if err != nil {
		return nil, "", err
	}
	m, err := migrate.NewMigrator(ctx, conn, table)
	if err != nil {
		return nil, "", fmt.Errorf("store: migrator: %w", err)
	}
	if err := m.LoadMigrations(migrationsFS()); err != nil {
		return nil, "", fmt.Errorf("store: loading migrations: %w", err)
	}
	return m, *schema, nil
}

// plainIdent is a schema name that needs no quoting.
var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// versionTableName qualifies the version table with the schema, so that a
// table of that name in another schema of the search_path (say public's)
// is never taken for ours. tern splits the name at the first dot and uses
// it in SQL as given, so only plain schema names are accepted.
func versionTableName(schema string) (string, error) {
	if !plainIdent.MatchString(schema) {
		return "", invalid("schema name %q: use a lower-case schema name of letters, digits and _", schema)
	}
	return schema + "." + versionTable, nil
}
