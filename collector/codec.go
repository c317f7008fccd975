package collector

import (
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP senders may gzip requests.
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// rawMessage carries a gRPC message's bytes undecoded, so the receiver
// decodes OTLP with pdata itself and can answer malformed input with
// INVALID_ARGUMENT (gRPC's own decoding would report INTERNAL).
type rawMessage struct{ b []byte }

// rawCodec passes rawMessage through and leaves every other type to the
// standard protobuf codec.
type rawCodec struct{ fallback encoding.CodecV2 }

func newRawCodec() rawCodec { return rawCodec{fallback: encoding.GetCodecV2(proto.Name)} }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	return c.fallback.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		m.b = data.Materialize()
		return nil
	}
	return c.fallback.Unmarshal(data, v)
}

func (rawCodec) Name() string { return proto.Name }

// zstdCompressor lets gRPC senders use zstd, as the OpenTelemetry
// Collector's receiver does.
type zstdCompressor struct{}

func init() { encoding.RegisterCompressor(zstdCompressor{}) }

func (zstdCompressor) Name() string { return "zstd" }

func (zstdCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
}

func (zstdCompressor) Decompress(r io.Reader) (io.Reader, error) {
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &zstdReader{d: d}, nil
}

// zstdReader frees the decoder at EOF.
type zstdReader struct{ d *zstd.Decoder }

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if errors.Is(err, io.EOF) {
		z.d.Close()
	}
	return n, err
}
