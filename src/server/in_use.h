#pragma once
// "In use" (issue 10): a vulnerable package whose files the sensor saw run or mapped executable
// in a running container of the image is marked in use and ranked first. The sensor exports, per
// container, the files its processes ran and loaded (moat-in-use/1, docs/sensor.md "In use"); the
// agent forwards that export; the server maps each file to the package of the container's image
// that owns it, with the image's file index kept at scan time beside its inventory.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/package.h"

namespace moat::server {

/// (package type as in findings' `category`: "deb", "npm", ...; package name).
using PackageRef = std::pair<std::string, std::string>;

/// The file index of a scanned image, kept beside its inventory: each installed OS package with
/// the files its package manager lists, in the /usr form, without its directories and without
/// documentation (man pages, /usr/share/doc, locales), which nothing runs. JSON text; "" when the
/// image has no OS package lists.
std::string PackageFilesIndex(const Inventory& inventory);

/// The packages of an image that own one of `files` (paths as a process in the container sees
/// them): OS packages by `files_index` (PackageFilesIndex; "" = none), language packages by
/// their path in `packages` (the stored inventory): a binary that is the package (Go, Rust), or
/// a file in the package's own directory (an npm package's folder, a Python package's top-level
/// module folder and its vendored ".libs"). A damaged index counts as none.
std::set<PackageRef> PackagesInUse(const std::string& files_index,
                                   const std::vector<Package>& packages,
                                   const std::set<std::string>& files);

}  // namespace moat::server
