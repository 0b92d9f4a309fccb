package synth

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
)

// Go's PNG and JPEG encoders write no resolution; scans declare theirs.

// withPNGResolution inserts a pHYs chunk (pixels per metre) after IHDR.
func withPNGResolution(data []byte, dpi int) []byte {
	const ihdrEnd = 8 + 12 + 13 // signature, IHDR's length, type, data and CRC
	if len(data) < ihdrEnd || dpi <= 0 {
		return data
	}
	ppm := uint32(math.Round(float64(dpi) / 0.0254))
	chunk := binary.BigEndian.AppendUint32(nil, 9)
	chunk = append(chunk, "pHYs"...)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = append(chunk, 1) // metre
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	var out bytes.Buffer
	out.Write(data[:ihdrEnd])
	out.Write(chunk)
	out.Write(data[ihdrEnd:])
	return out.Bytes()
}

// withJFIFResolution inserts a JFIF APP0 segment (dots per inch) after SOI.
func withJFIFResolution(data []byte, dpi int) []byte {
	if len(data) < 2 || dpi <= 0 || dpi > 65535 {
		return data
	}
	seg := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2, 1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(dpi))
	seg = binary.BigEndian.AppendUint16(seg, uint16(dpi))
	seg = append(seg, 0, 0) // no thumbnail
	var out bytes.Buffer
	out.Write(data[:2])
	out.Write(seg)
	out.Write(data[2:])
	return out.Bytes()
}
