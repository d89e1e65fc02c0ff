package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
)

// AuditRecord is one applied batch as recorded in DIR/audit.log: the chain
// head after that batch. The chain itself is replicated state (it is in
// every snapshot); the file is each node's local, exportable record of it,
// which `verify` rechecks against a replay from the beginning of the log.
type AuditRecord struct {
	Index uint64   // raft log index of the batch
	Time  int64    // engine time the batch was applied at
	Count uint32   // commands in the batch
	Chain [32]byte // chain head after the batch
}

// Audit record format, version 1: 64 bytes, little-endian:
// index u64 ‖ time i64 ‖ count u32 ‖ reserved u32 ‖ chain [32] ‖ crc32c u32
// (over the first 56 bytes) ‖ reserved u32.
const auditRecordLen = 64

const auditFile = "audit.log"

func (r AuditRecord) appendTo(b []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint64(b, r.Index)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Time))
	b = binary.LittleEndian.AppendUint32(b, r.Count)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, r.Chain[:]...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	return binary.LittleEndian.AppendUint32(b, 0)
}

func decodeAuditRecord(b []byte) (AuditRecord, bool) {
	var r AuditRecord
	if len(b) < auditRecordLen || crc32.Checksum(b[:56], castagnoli) != binary.LittleEndian.Uint32(b[56:]) {
		return r, false
	}
	r.Index = binary.LittleEndian.Uint64(b)
	r.Time = int64(binary.LittleEndian.Uint64(b[8:]))
	r.Count = binary.LittleEndian.Uint32(b[16:])
	copy(r.Chain[:], b[24:56])
	return r, true
}

// ReadAudit returns the audit records of a data directory in file order. A
// torn final record (a crash mid-write; the file is not fsynced per batch
// because the log can regenerate it) is ignored; a bad record before the
// end is an error.
func ReadAudit(dir string) ([]AuditRecord, error) {
	data, err := os.ReadFile(auditPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []AuditRecord
	for off := 0; off+auditRecordLen <= len(data); off += auditRecordLen {
		r, ok := decodeAuditRecord(data[off:])
		if !ok {
			if off+2*auditRecordLen > len(data) {
				break // torn last record
			}
			return out, fmt.Errorf("journal: audit record %d (offset %d) is corrupt", off/auditRecordLen, off)
		}
		out = append(out, r)
	}
	return out, nil
}

// ExportAudit writes the audit records of dir to w, one per line:
// index, engine time, command count and chain hash in hex. It is the
// building block for `sampan audit export`.
func ExportAudit(dir string, w io.Writer) error {
	recs, err := ReadAudit(dir)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := fmt.Fprintf(w, "%d %d %d %x\n", r.Index, r.Time, r.Count, r.Chain); err != nil {
			return err
		}
	}
	return nil
}

func auditPath(dir string) string { return dir + string(os.PathSeparator) + auditFile }

// auditWriter appends records for batches it has not recorded yet. After a
// restart the FSM re-applies the log tail after the snapshot; those batches
// are already in the file and are skipped by index.
type auditWriter struct {
	mu   sync.Mutex
	f    *os.File
	last uint64 // highest recorded index
	buf  []byte
	err  error
}

func openAudit(dir string) (*auditWriter, error) {
	recs, err := ReadAudit(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(auditPath(dir), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	// Drop a torn tail so appends stay record-aligned.
	if err := f.Truncate(int64(len(recs) * auditRecordLen)); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	w := &auditWriter{f: f}
	if len(recs) > 0 {
		w.last = recs[len(recs)-1].Index
	}
	return w, nil
}

// record appends r if it is new. A write error is kept and reported by
// close; the log stays the source of truth, so it does not stop the node.
func (w *auditWriter) record(r AuditRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Index <= w.last || w.err != nil {
		return
	}
	w.buf = r.appendTo(w.buf[:0])
	if _, err := w.f.Write(w.buf); err != nil {
		w.err = err
		return
	}
	w.last = r.Index
}

func (w *auditWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if w.err != nil {
		return w.err
	}
	return err
}
