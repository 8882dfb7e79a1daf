#pragma once
// Shared by the rpm database reader fuzz targets.

#include <cstdlib>
#include <string>

#include "analyzer/rpm/rpm_db.h"

namespace moat::rpm {

/// Decodes every record a reader delivers (so every overflow chain and blob is walked); damage
/// must come with a message naming its place.
class DecodingSink final : public RpmRecordSink {
 public:
  void OnRecord(const RpmDbRecord& record) override { (void)DecodeRpmHeader(record.blob); }
  void OnDamage(std::string message) override {
    if (message.empty()) std::abort();
  }
};

}  // namespace moat::rpm
