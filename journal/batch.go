package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Batch entry format, version 1. One raft log entry of type LogCommand holds
// exactly one batch. All integers are little-endian.
//
//	offset size field
//	0      1    version        = 1
//	1      1    flags          = 0 (reserved; a decoder rejects non-zero)
//	2      2    reserved       = 0
//	4      4    count          number of commands, 1..batchCommandsLimit
//	8      8    time           engine time, ns since Unix epoch, stamped by the sequencer
//	16     4    bodyLen        length of the body in bytes
//	20     4    crc            CRC-32C (Castagnoli) of bytes [0,20) followed by the body
//	24     ...  body           count × (u32 len ‖ len bytes of command)
//
// The CRC is checked on every decode: raft-wal does not checksum records on
// read, so a bit flip in a sealed segment would otherwise reach the engine.
const (
	batchVersion   = 1
	batchHeaderLen = 24

	// batchCommandsLimit, commandBytesLimit and batchBytesLimit are the hard
	// limits of the format: a decoder rejects anything larger. The
	// sequencer's configurable limits must stay at or below them.
	batchCommandsLimit = 1 << 16
	commandBytesLimit  = 1 << 20
	batchBytesLimit    = 32 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptBatch wraps every decode failure, so callers can tell corruption
// from other errors with errors.Is.
var ErrCorruptBatch = errors.New("journal: corrupt batch")

// BatchHeader is the decoded fixed part of a batch.
type BatchHeader struct {
	Version uint8
	Count   int
	Time    int64
}

// encodedBatchLen is the exact size EncodeBatch will produce.
func encodedBatchLen(cmds [][]byte) int {
	n := batchHeaderLen
	for _, c := range cmds {
		n += 4 + len(c)
	}
	return n
}

// AppendBatch appends the encoding of cmds stamped with time to dst. It
// returns an error (never a partial encoding) if a limit is exceeded.
func AppendBatch(dst []byte, time int64, cmds [][]byte) ([]byte, error) {
	if len(cmds) == 0 || len(cmds) > batchCommandsLimit {
		return dst, fmt.Errorf("journal: batch of %d commands outside 1..%d", len(cmds), batchCommandsLimit)
	}
	total := encodedBatchLen(cmds)
	if total > batchBytesLimit {
		return dst, fmt.Errorf("journal: batch of %d bytes exceeds %d", total, batchBytesLimit)
	}
	start := len(dst)
	dst = append(dst, make([]byte, batchHeaderLen)...)
	for _, c := range cmds {
		if len(c) > commandBytesLimit {
			return dst[:start], fmt.Errorf("journal: command of %d bytes exceeds %d", len(c), commandBytesLimit)
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(c)))
		dst = append(dst, c...)
	}
	h := dst[start : start+batchHeaderLen]
	h[0] = batchVersion
	binary.LittleEndian.PutUint32(h[4:], uint32(len(cmds)))
	binary.LittleEndian.PutUint64(h[8:], uint64(time))
	binary.LittleEndian.PutUint32(h[16:], uint32(total-batchHeaderLen))
	crc := crc32.Update(0, castagnoli, h[:20])
	crc = crc32.Update(crc, castagnoli, dst[start+batchHeaderLen:])
	binary.LittleEndian.PutUint32(h[20:], crc)
	return dst, nil
}

// DecodeBatch checks and decodes one batch. The returned commands alias data
// (no copy) and are appended to cmds[:0], so a caller can reuse the slice.
// It never panics, whatever the input.
func DecodeBatch(data []byte, cmds [][]byte) (BatchHeader, [][]byte, error) {
	var h BatchHeader
	cmds = cmds[:0]
	if len(data) < batchHeaderLen {
		return h, cmds, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrCorruptBatch, len(data), batchHeaderLen)
	}
	h.Version = data[0]
	if h.Version != batchVersion {
		return h, cmds, fmt.Errorf("%w: unknown version %d", ErrCorruptBatch, h.Version)
	}
	if data[1] != 0 || data[2] != 0 || data[3] != 0 {
		return h, cmds, fmt.Errorf("%w: reserved header bytes are not zero", ErrCorruptBatch)
	}
	count := binary.LittleEndian.Uint32(data[4:])
	h.Time = int64(binary.LittleEndian.Uint64(data[8:]))
	bodyLen := binary.LittleEndian.Uint32(data[16:])
	if uint64(bodyLen) != uint64(len(data)-batchHeaderLen) {
		return h, cmds, fmt.Errorf("%w: body length %d, entry holds %d", ErrCorruptBatch, bodyLen, len(data)-batchHeaderLen)
	}
	crc := crc32.Update(0, castagnoli, data[:20])
	crc = crc32.Update(crc, castagnoli, data[batchHeaderLen:])
	if want := binary.LittleEndian.Uint32(data[20:]); crc != want {
		return h, cmds, fmt.Errorf("%w: crc %08x, header says %08x", ErrCorruptBatch, crc, want)
	}
	if count == 0 || count > batchCommandsLimit {
		return h, cmds, fmt.Errorf("%w: command count %d outside 1..%d", ErrCorruptBatch, count, batchCommandsLimit)
	}
	body := data[batchHeaderLen:]
	for i := uint32(0); i < count; i++ {
		if len(body) < 4 {
			return h, cmds[:0], fmt.Errorf("%w: command %d: truncated length", ErrCorruptBatch, i)
		}
		n := binary.LittleEndian.Uint32(body)
		body = body[4:]
		if n > commandBytesLimit || uint64(n) > uint64(len(body)) {
			return h, cmds[:0], fmt.Errorf("%w: command %d: length %d exceeds remaining %d bytes", ErrCorruptBatch, i, n, len(body))
		}
		cmds = append(cmds, body[:n:n])
		body = body[n:]
	}
	if len(body) != 0 {
		return h, cmds[:0], fmt.Errorf("%w: %d trailing bytes after %d commands", ErrCorruptBatch, len(body), count)
	}
	h.Count = int(count)
	return h, cmds, nil
}
