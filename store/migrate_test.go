package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	want, err := LatestVersion()
	if err != nil || want < 1 {
		t.Fatalf("LatestVersion = %d, %v", want, err)
	}

	// A fresh schema is behind: version 0.
	err = CheckMigrations(ctx, pool)
	var sv *SchemaVersionError
	if !errors.Is(err, ErrSchemaBehind) || errors.Is(err, ErrSchemaAhead) || !errors.As(err, &sv) || sv.Have != 0 || sv.Want != want {
		t.Fatalf("CheckMigrations on an empty schema: %v", err)
	}

	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := CheckMigrations(ctx, pool); err != nil {
		t.Fatalf("CheckMigrations after Migrate: %v", err)
	}
	for _, tb := range Tables {
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", tb).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (%v)", tb, err)
		}
	}

	// Again: nothing to do, same version, same tables.
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var v int32
	if err := pool.QueryRow(ctx, "SELECT version FROM "+versionTable).Scan(&v); err != nil || v != want {
		t.Fatalf("version after two migrations: %d, %v", v, err)
	}

	// Behind by one.
	if _, err := pool.Exec(ctx, "UPDATE "+versionTable+" SET version = $1", want-1); err != nil {
		t.Fatal(err)
	}
	if err := CheckMigrations(ctx, pool); !errors.Is(err, ErrSchemaBehind) || !errors.As(err, &sv) || sv.Have != want-1 {
		t.Errorf("behind: %v", err)
	} else {
		t.Logf("behind: %v", err)
	}
	// Ahead.
	if _, err := pool.Exec(ctx, "UPDATE "+versionTable+" SET version = $1", want+5); err != nil {
		t.Fatal(err)
	}
	if err := CheckMigrations(ctx, pool); !errors.Is(err, ErrSchemaAhead) || errors.Is(err, ErrSchemaBehind) {
		t.Errorf("ahead: %v", err)
	}
}

// A version table of the same name elsewhere on the search_path (say a
// database migrated into public) must not be taken for this schema's.
func TestMigrationsVersionTablePerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	other := testPool(t)
	if err := Migrate(ctx, other); err != nil {
		t.Fatal(err)
	}
	var otherSchema string
	if err := other.QueryRow(ctx, "SELECT current_schema()").Scan(&otherSchema); err != nil {
		t.Fatal(err)
	}
	pool := testPool(t)
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// Put the migrated schema second on this pool's path.
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = schema + ", " + otherSchema + ", public"
	pool.Close()
	p2, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if err := CheckMigrations(ctx, p2); !errors.Is(err, ErrSchemaBehind) {
		t.Errorf("CheckMigrations saw another schema's version: %v", err)
	}
	if err := Migrate(ctx, p2); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := p2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'chunks'", schema).Scan(&n); err != nil || n != 1 {
		t.Errorf("tables not created in %s: %d %v", schema, n, err)
	}
}
