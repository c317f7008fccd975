package spool

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

const (
	checkpointFile = "checkpoint"
	slotSize       = 64
)

// checkpoint is the drainer's durable state.
type checkpoint struct {
	committed Position
	inflight  Position // zero when no insert is in flight
}

// checkpointStore keeps the checkpoint in two fixed slots of one
// preallocated file, written alternately in place. Writing never needs new
// disk space, so a drainer can still commit (and so free space) when the
// spool's disk is full; the slot with the highest valid sequence wins, so
// a write torn by a crash leaves the previous checkpoint in force.
type checkpointStore struct {
	f   *os.File
	seq uint64
}

func openCheckpoint(dir string) (*checkpointStore, checkpoint, error) {
	path := filepath.Join(dir, checkpointFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
	}
	if st.Size() < 2*slotSize {
		if _, err := f.WriteAt(make([]byte, 2*slotSize), 0); err != nil {
			f.Close()
			return nil, checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
		}
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
		}
	}
	buf := make([]byte, 2*slotSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		f.Close()
		return nil, checkpoint{}, fmt.Errorf("spool checkpoint: %w", err)
	}
	s := &checkpointStore{f: f}
	var best checkpoint
	for i := 0; i < 2; i++ {
		seq, cp, ok := decodeSlot(buf[i*slotSize : (i+1)*slotSize])
		if ok && seq > s.seq {
			s.seq, best = seq, cp
		}
	}
	return s, best, nil
}

func decodeSlot(b []byte) (uint64, checkpoint, bool) {
	if crc32.Checksum(b[:40], crcTable) != binary.LittleEndian.Uint32(b[40:]) {
		return 0, checkpoint{}, false
	}
	return binary.LittleEndian.Uint64(b[0:]), checkpoint{
		committed: Position{binary.LittleEndian.Uint64(b[8:]), int64(binary.LittleEndian.Uint64(b[16:]))},
		inflight:  Position{binary.LittleEndian.Uint64(b[24:]), int64(binary.LittleEndian.Uint64(b[32:]))},
	}, true
}

// write stores cp durably in the older slot.
func (s *checkpointStore) write(cp checkpoint) error {
	seq := s.seq + 1
	var b [slotSize]byte
	binary.LittleEndian.PutUint64(b[0:], seq)
	binary.LittleEndian.PutUint64(b[8:], cp.committed.Segment)
	binary.LittleEndian.PutUint64(b[16:], uint64(cp.committed.Offset))
	binary.LittleEndian.PutUint64(b[24:], cp.inflight.Segment)
	binary.LittleEndian.PutUint64(b[32:], uint64(cp.inflight.Offset))
	binary.LittleEndian.PutUint32(b[40:], crc32.Checksum(b[:40], crcTable))
	if _, err := s.f.WriteAt(b[:], int64(seq%2)*slotSize); err != nil {
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("spool checkpoint: %w", err)
	}
	s.seq = seq
	return nil
}

func (s *checkpointStore) close() error { return s.f.Close() }
