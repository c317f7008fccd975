package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

const checkpointFile = "checkpoint"

// checkpoint is the drainer's durable state.
type checkpoint struct {
	committed Position
	inflight  Position // zero when no insert is in flight
}

// writeCheckpoint replaces the checkpoint atomically (write, fsync,
// rename, fsync the directory).
func writeCheckpoint(dir string, cp checkpoint) error {
	var b [36]byte
	binary.LittleEndian.PutUint64(b[0:], cp.committed.Segment)
	binary.LittleEndian.PutUint64(b[8:], uint64(cp.committed.Offset))
	binary.LittleEndian.PutUint64(b[16:], cp.inflight.Segment)
	binary.LittleEndian.PutUint64(b[24:], uint64(cp.inflight.Offset))
	binary.LittleEndian.PutUint32(b[32:], crc32.Checksum(b[:32], crcTable))
	tmp := filepath.Join(dir, checkpointFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	if _, err := f.Write(b[:]); err != nil {
		f.Close()
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, checkpointFile)); err != nil {
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	return syncDir(dir)
}

func readCheckpoint(dir string) (checkpoint, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return checkpoint{}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
	}
	if len(b) != 36 || crc32.Checksum(b[:32], crcTable) != binary.LittleEndian.Uint32(b[32:]) {
		return checkpoint{}, fmt.Errorf("spool checkpoint %s is corrupt", filepath.Join(dir, checkpointFile))
	}
	return checkpoint{
		committed: Position{binary.LittleEndian.Uint64(b[0:]), int64(binary.LittleEndian.Uint64(b[8:]))},
		inflight:  Position{binary.LittleEndian.Uint64(b[16:]), int64(binary.LittleEndian.Uint64(b[24:]))},
	}, nil
}
