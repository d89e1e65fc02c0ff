package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// ErrStorage marks a failed write or fsync. It is sticky: after the first
// one every later write fails too, and the node stops. Retrying an fsync
// after a failure can report success for data the kernel already dropped
// (the "fsyncgate" finding), so there is no retry.
var ErrStorage = errors.New("journal: storage failure")

// stickyFS wraps raft-wal's file system. Every write or sync error is
// recorded and returned for all later writes. fault, when set (tests only),
// is consulted before each Sync and WriteAt and may inject an error.
type stickyFS struct {
	inner types.VFS
	fault func(op string) error

	mu  sync.Mutex
	err error
}

func (s *stickyFS) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stickyFS) fail(op string, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = fmt.Errorf("%w: %s: %v", ErrStorage, op, err)
	}
	return s.err
}

func (s *stickyFS) ListDir(dir string) ([]string, error) { return s.inner.ListDir(dir) }
func (s *stickyFS) Delete(dir, name string) error        { return s.inner.Delete(dir, name) }
func (s *stickyFS) OpenReader(dir, name string) (types.ReadableFile, error) {
	return s.inner.OpenReader(dir, name)
}

func (s *stickyFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	if err := s.failed(); err != nil {
		return nil, err
	}
	f, err := s.inner.Create(dir, name, size)
	if err != nil {
		return nil, s.fail("create "+name, err)
	}
	return &stickyFile{WritableFile: f, fs: s, name: name}, nil
}

func (s *stickyFS) OpenWriter(dir, name string) (types.WritableFile, error) {
	f, err := s.inner.OpenWriter(dir, name)
	if err != nil {
		return nil, err
	}
	return &stickyFile{WritableFile: f, fs: s, name: name}, nil
}

type stickyFile struct {
	types.WritableFile
	fs   *stickyFS
	name string
}

func (f *stickyFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.failed(); err != nil {
		return 0, err
	}
	if f.fs.fault != nil {
		if err := f.fs.fault("write"); err != nil {
			return 0, f.fs.fail("write "+f.name, err)
		}
	}
	n, err := f.WritableFile.WriteAt(p, off)
	if err != nil && !(errors.Is(err, os.ErrClosed)) {
		return n, f.fs.fail("write "+f.name, err)
	}
	return n, err
}

func (f *stickyFile) Sync() error {
	if err := f.fs.failed(); err != nil {
		return err
	}
	if f.fs.fault != nil {
		if err := f.fs.fault("sync"); err != nil {
			return f.fs.fail("fsync "+f.name, err)
		}
	}
	if err := f.WritableFile.Sync(); err != nil {
		return f.fs.fail("fsync "+f.name, err)
	}
	return nil
}

// guardedLog is the raft.LogStore the node hands to raft: raft-wal, with
// every append or truncation error reported to onFatal. hashicorp/raft
// answers a failed StoreLogs by failing those futures and stepping down,
// then would try again as a candidate; onFatal stops the node instead.
type guardedLog struct {
	*walStore
	onFatal func(error)
}

func (g *guardedLog) StoreLog(l *raft.Log) error {
	return g.StoreLogs([]*raft.Log{l})
}

func (g *guardedLog) StoreLogs(logs []*raft.Log) error {
	if err := g.walStore.StoreLogs(logs); err != nil {
		err = fmt.Errorf("%w: append at index %d: %v", ErrStorage, logs[0].Index, err)
		g.onFatal(err)
		return err
	}
	return nil
}

func (g *guardedLog) DeleteRange(min, max uint64) error {
	if err := g.walStore.DeleteRange(min, max); err != nil {
		err = fmt.Errorf("%w: delete range %d-%d: %v", ErrStorage, min, max, err)
		g.onFatal(err)
		return err
	}
	return nil
}

// walStore is an open raft-wal log with its meta DB. raft-wal's Close does
// not close the meta DB (a bbolt file holding an exclusive flock), so a
// reopen in the same process would wait for that lock forever; Close here
// closes both.
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w *walStore) Close() error {
	err := w.WAL.Close()
	if merr := w.meta.Close(); err == nil {
		err = merr
	}
	return err
}

func openWAL(dir string, sfs *stickyFS) (*walStore, error) {
	walDir := filepath.Join(dir, "wal")
	if err := os.MkdirAll(walDir, 0o755); err != nil {
		return nil, err
	}
	if err := checkNotRunning(dir); err != nil {
		return nil, err
	}
	if sfs == nil {
		sfs = &stickyFS{inner: fs.New()}
	}
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(walDir, wal.WithSegmentFiler(segment.NewFiler(walDir, sfs)), wal.WithMetaStore(meta))
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("journal: open log %s: %w", walDir, err)
	}
	return &walStore{WAL: w, meta: meta}, nil
}

// The high-water mark (DIR/hwm) is an applied index that was durable when it
// was written: 8 bytes index ‖ 4 bytes CRC-32C. It is written by temp file,
// fsync, rename, directory fsync, every Config.HWMInterval and on shutdown.
// On open, a log (plus snapshot) ending below it means acknowledged entries
// went missing, and the node refuses to start.
const hwmFile = "hwm"

func readHWM(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, hwmFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, fmt.Errorf("journal: high-water mark file %s is corrupt", filepath.Join(dir, hwmFile))
	}
	return binary.LittleEndian.Uint64(b), nil
}

func writeHWM(dir string, idx uint64) error {
	b := binary.LittleEndian.AppendUint64(nil, idx)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return writeFileDurable(dir, hwmFile, b)
}

// writeFileDurable replaces dir/name atomically and durably.
func writeFileDurable(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ErrCorruptLog is returned by Open and the replay functions when the stored
// log cannot be trusted. The message names the index.
var ErrCorruptLog = errors.New("journal: corrupt log")

// checkLog reads every stored entry and checks each batch's CRC and
// structure, that the log joins up with the latest snapshot, and that it
// reaches the high-water mark. It runs before raft sees the store.
func checkLog(logs raft.LogStore, snapIndex, hwm uint64) error {
	first, err := logs.FirstIndex()
	if err != nil {
		return err
	}
	last, err := logs.LastIndex()
	if err != nil {
		return err
	}
	if last != 0 {
		if first > snapIndex+1 {
			return fmt.Errorf("%w: log starts at index %d but the latest snapshot ends at %d; entries %d-%d are missing",
				ErrCorruptLog, first, snapIndex, snapIndex+1, first-1)
		}
		var l raft.Log
		var cmds [][]byte
		for i := first; i <= last; i++ {
			if err := logs.GetLog(i, &l); err != nil {
				return fmt.Errorf("%w: entry %d of %d-%d unreadable: %v", ErrCorruptLog, i, first, last, err)
			}
			if l.Index != i {
				return fmt.Errorf("%w: entry at position %d says index %d", ErrCorruptLog, i, l.Index)
			}
			if l.Type == raft.LogCommand {
				if _, cmds, err = DecodeBatch(l.Data, cmds); err != nil {
					return fmt.Errorf("%w: entry %d: %v", ErrCorruptLog, i, err)
				}
			}
		}
	}
	if end := max(last, snapIndex); end < hwm {
		return fmt.Errorf("%w: log ends at index %d but index %d was durable earlier (high-water mark); "+
			"a record was corrupted or lost and the log store truncated at it — refusing to start rather than drop acknowledged commands",
			ErrCorruptLog, end, hwm)
	}
	return nil
}
