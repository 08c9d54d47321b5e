// Version-8 frame file writer (digest §11 checklist) with atomic publish.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "io/gwf/frame.hpp"

namespace deepclean::gwf {

struct WriteOptions {
  Compression compression = Compression::Zlib;  // raw is kept when compression does not shrink
  int zlib_level = 6;
  // The spec wants channel names unique per frame (digest §5) and encode_frames rejects duplicates;
  // re-encoding tools turn this off to copy files that break the rule (FrameL's own test file holds
  // two FrSimData `sim1` per frame). The TOC then indexes the last of them, as FrameL's own TOC of
  // that file does.
  bool unique_names = true;
};

// The bytes of a v8 file holding `frames` (FrameH, FrDetector, FrHistory, one FrAdcData/FrProcData/
// FrSimData per channel each followed by its FrVect, FrEndOfFrame; then FrTOC and FrEndOfFile;
// CRCs on every structure and on the file).
std::vector<std::byte> encode_frames(const std::vector<Frame>& frames, const WriteOptions& options = {});

// Atomic publish (digest §10): writes `<dir>/.<name>.<random>.tmp` (a dot-file that *.gwf globs and
// T050017 parsers skip), fsyncs, renames it to `path`, fsyncs the directory. Readers of `path` see the
// old complete file or the new complete file, never a partial one. Throws std::system_error naming
// the path on any I/O failure (the temporary file is removed) and std::invalid_argument, before
// touching the disk, for frames that cannot be encoded.
void write_frame_file(const std::string& path, const std::vector<Frame>& frames,
                      const WriteOptions& options = {});

}  // namespace deepclean::gwf
