package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/store"
)

func (m *Main) dbCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Set up and inspect the PostgreSQL database (pgvector)",
		Long: `The database is named by EXTRACTOR_DATABASE_URL or database_url in the --config
file (a PostgreSQL connection string; the pgvector extension must be
installable in it). 'db migrate' creates or upgrades its tables; every other
command that uses the database checks first that it is up to date.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", "", "YAML config file (database_url)")
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database's tables (safe to run again)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withPool(cmd.Context(), configPath, func(ctx context.Context, _ config, dsn string) error {
				pool, err := store.Connect(ctx, dsn)
				if err != nil {
					return fmt.Errorf("database: %w", err)
				}
				defer pool.Close()
				if err := store.Migrate(ctx, pool); err != nil {
					return err
				}
				v, err := store.LatestVersion()
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "database schema at version %d\n", v)
				return nil
			})
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the database is up to date and count what it holds",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withPool(cmd.Context(), configPath, func(ctx context.Context, cfg config, dsn string) error {
				st, err := openStore(ctx, dsn, cfg.Search, nil)
				if err != nil {
					return err
				}
				defer st.Pool().Close()
				stats, err := st.Stats(ctx)
				if err != nil {
					return err
				}
				v, _ := store.LatestVersion()
				fmt.Fprintf(m.Stdout, "database schema at version %d (up to date)\nrows:\n", v)
				nameW, countW := 0, 0
				for _, t := range store.Tables {
					nameW, countW = max(nameW, len(t)), max(countW, len(strconv.FormatInt(stats.Rows[t], 10)))
				}
				for _, t := range store.Tables {
					fmt.Fprintf(m.Stdout, "  %-*s  %*d\n", nameW, t, countW, stats.Rows[t])
				}
				for _, ms := range stats.Models {
					index := "no index yet (built at the end of the next run)"
					if ms.Index != "" {
						index = "HNSW index " + ms.Index
					}
					fmt.Fprintf(m.Stdout, "embeddings %s (%d dimensions): %d vectors, %s\n", ms.Model, ms.Dims, ms.Vectors, index)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(migrate, status)
	return cmd
}

// withPool runs f with the configured database's connection string.
func (m *Main) withPool(ctx context.Context, configPath string, f func(ctx context.Context, cfg config, dsn string) error) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return usageError{err}
	}
	dsn := m.databaseURL(cfg)
	if dsn == "" {
		return errNoDatabase
	}
	if err := f(ctx, cfg, dsn); err != nil {
		if errors.Is(err, store.ErrNoVector) {
			return fmt.Errorf("%w: install pgvector on the server ('make db-start' runs a local PostgreSQL that has it)", err)
		}
		return err
	}
	return nil
}
