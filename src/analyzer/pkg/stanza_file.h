#pragma once
// Shared by the dpkg and apk analyzers, whose databases are text files of stanzas (one package
// each) separated by blank lines. A damaged stanza is skipped and named while the others are
// read: one bad line must neither hide every package nor let a tampered database pass as empty.

#include <cstddef>
#include <string>
#include <string_view>

#include "analyzer/analyzer.h"
#include "core/result.h"

namespace moat::pkg {

bool IsBlank(char c);
std::string_view Trim(std::string_view text);

class StanzaFileParser {
 public:
  /// `display_path` is the file as the report names it ("/var/lib/dpkg/status").
  StanzaFileParser(std::string_view text, std::string display_path);
  virtual ~StanzaFileParser() = default;

  /// Reads every stanza: the packages of intact stanzas, and each damaged one in `problems`
  /// ("line 12: <what>; stanza at lines 10-15 (package \"x\") skipped"). An Error, naming the
  /// file and the first damage, when the file has stanzas but not one could be read.
  Result<AnalysisResult> Parse();

 protected:
  /// A line of the current stanza (not a separator). An Error damages the stanza; its remaining
  /// lines still come (their errors ignored) so that StanzaName can name it.
  virtual Result<void> OnLine(std::string_view line) = 0;
  /// The current stanza ended: add its package (if it describes an installed one) to `result`.
  /// An Error damages the stanza. Not called for damaged stanzas.
  virtual Result<void> OnStanzaEnd(AnalysisResult& result) = 0;
  /// The package name the current stanza gave so far, "" when none.
  virtual std::string_view StanzaName() const = 0;
  /// Forgets the current stanza.
  virtual void Reset() = 0;
  /// Whether `line` separates stanzas. apk: only an empty line; dpkg also allows blanks.
  virtual bool IsSeparator(std::string_view line) const { return line.empty(); }

  /// "line N" of the line being read; OnLine errors start with it.
  std::string Where(size_t line) const { return "line " + std::to_string(line); }
  size_t line_number() const { return line_number_; }
  const std::string& display_path() const { return path_; }

 private:
  /// Closes the open stanza (if any), whose last line is `last_line`.
  void EndStanza(size_t last_line, AnalysisResult& result);

  std::string_view text_;
  std::string path_;
  size_t line_number_ = 0;
  size_t stanza_start_ = 0;  // first line of the current stanza; 0 when none is open
  std::string damage_;       // the first error of the current stanza
  size_t stanzas_read_ = 0;  // intact stanzas
};

}  // namespace moat::pkg
