package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/extractor-dev/extractor/history"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/store"
)

// layeredRecords are the runs of the state directory and, behind them,
// those of the database (queued runs, uploads, runs made on other
// machines): history reads both, a run of the state directory first. Each
// read of the database opens a connection of its own and closes it, so
// commands need not manage one.
type layeredRecords struct {
	local pipeline.LocalRecords
	dsn   string
}

var _ history.Records = layeredRecords{}

func (l layeredRecords) withStore(ctx context.Context, f func(st *store.Store) error) error {
	st, err := openStore(ctx, l.dsn, searchConfig{}, nil)
	if err != nil {
		return err
	}
	defer st.Pool().Close()
	return f(st)
}

// isLocal reports whether the state directory holds the run.
func (l layeredRecords) isLocal(runID string) bool {
	_, err := os.Stat(filepath.Join(pipeline.RunsDir(l.local.State), runID, "manifest.json"))
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

func (l layeredRecords) RunManifests(ctx context.Context) ([]pipeline.Run, error) {
	runs, err := l.local.RunManifests(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range runs {
		seen[r.ID] = true
	}
	err = l.withStore(ctx, func(st *store.Store) error {
		db, err := st.RunManifests(ctx)
		for _, r := range db {
			if !seen[r.ID] {
				runs = append(runs, r)
			}
		}
		return err
	})
	return runs, err
}

func (l layeredRecords) StepRecords(ctx context.Context, runID string) (out []pipeline.StepRecord, err error) {
	if l.isLocal(runID) {
		return l.local.StepRecords(ctx, runID)
	}
	err = l.withStore(ctx, func(st *store.Store) error {
		out, err = st.StepRecords(ctx, runID)
		return err
	})
	return out, err
}

func (l layeredRecords) ResultLines(ctx context.Context, runID string) (out []pipeline.ResultLine, err error) {
	if l.isLocal(runID) {
		return l.local.ResultLines(ctx, runID)
	}
	err = l.withStore(ctx, func(st *store.Store) error {
		out, err = st.ResultLines(ctx, runID)
		return err
	})
	return out, err
}

// layeredOutputs are step outputs from the state directory's cache, else
// the database's.
type layeredOutputs struct {
	local pipeline.DirCache
	dsn   string
}

func (l layeredOutputs) Get(ctx context.Context, key string) (v []byte, ok bool, err error) {
	if v, ok, err = l.local.Get(ctx, key); ok || err != nil {
		return v, ok, err
	}
	err = layeredRecords{dsn: l.dsn}.withStore(ctx, func(st *store.Store) error {
		v, ok, err = st.Cache().Get(ctx, key)
		return err
	})
	return v, ok, err
}
