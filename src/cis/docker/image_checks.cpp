// CIS Docker Benchmark v1.6.0, section 4: container images and build files.

#include "cis/docker/check_util.h"
#include "core/text.h"

namespace moat::cis::docker {
namespace {

Control Image(std::string id, std::string title, int level, bool automated, std::string reads,
              std::string condition, std::string remediation) {
  return {std::move(id),        std::move(title),      "4", level, automated, std::move(reads),
          std::move(condition), std::move(remediation)};
}

DockerCheck ManualImage(std::string id, std::string title, int level, std::string look_at,
                        std::string remediation) {
  return {Image(std::move(id), std::move(title), level, false, "-", look_at, remediation),
          {},
          [look_at](const DockerFacts&) { return Manual(look_at); }};
}

bool IsRootUser(const std::string& user) {
  if (user.empty()) return true;
  std::string name = user.substr(0, user.find(':'));
  return name == "root" || name == "0";
}

// History steps that match `pattern` (lower-cased substring), one evidence line per image.
Outcome HistoryInfo(const DockerFacts& f, const std::function<bool(const std::string&)>& match,
                    const std::string& what) {
  std::vector<std::string> evidence;
  size_t unreadable = 0;
  for (const auto& image : f.images) {
    if (!image.history_error.empty()) {
      ++unreadable;
      continue;
    }
    for (const auto& step : image.history) {
      if (match(step)) {
        evidence.push_back(image.Describe() + ": " + step.substr(0, 200));
        break;
      }
    }
  }
  if (unreadable > 0) {
    evidence.push_back(std::to_string(unreadable) + " image histories could not be read");
  }
  if (evidence.empty()) {
    evidence.push_back("no " + what + " in the history of " + std::to_string(f.images.size()) +
                       " image(s)");
  }
  return Info(std::move(evidence), "review the Dockerfiles behind the images listed");
}

}  // namespace

std::vector<DockerCheck> ImageChecks() {
  std::vector<DockerCheck> checks;
  checks.push_back(
      {Image("4.1", "Ensure that a user for the container has been created", 1, true,
             "Config.User of each running container",
             "each running container runs as a non-root user",
             "Create a user in the Dockerfile (RUN useradd ...; USER app) or run with --user."),
       {"engine.containers"},
       [](const DockerFacts& f) {
         return ForEachRunning(f, [](const ContainerInfo& c) -> std::optional<std::string> {
           if (!IsRootUser(c.user)) return std::nullopt;
           return "Config.User=\"" + c.user + "\" (runs as root)";
         });
       }});
  checks.push_back(ManualImage("4.2", "Ensure that containers use only trusted base images", 1,
                               "confirm every base image comes from a trusted, verified source",
                               "Build from base images you trust (official or your own), pinned "
                               "by digest, and keep a list of approved bases."));
  checks.push_back(
      ManualImage("4.3", "Ensure that unnecessary packages are not installed in the container", 1,
                  "review image contents (moat image IMAGE lists the packages)",
                  "Remove packages the application does not need; prefer minimal "
                  "or distroless bases."));
  checks.push_back(
      ManualImage("4.4", "Ensure images are scanned and rebuilt to include security patches", 1,
                  "confirm images are scanned regularly and rebuilt when fixes appear",
                  "Scan images (moat image / moat sbom) and rebuild them with current "
                  "packages; redeploy the rebuilt images."));
  checks.push_back(
      {Image("4.5", "Ensure Content trust for Docker is Enabled", 2, true,
             "DOCKER_CONTENT_TRUST in the environment moat runs in", "DOCKER_CONTENT_TRUST=1",
             "export DOCKER_CONTENT_TRUST=1 in the shells and CI jobs that run docker (a client "
             "setting)."),
       {},
       [](const DockerFacts& f) {
         if (f.content_trust && *f.content_trust == "1") return Pass({"DOCKER_CONTENT_TRUST=1"});
         return Failed({f.content_trust ? "DOCKER_CONTENT_TRUST=\"" + *f.content_trust + "\""
                                        : std::string("DOCKER_CONTENT_TRUST is not set (checked "
                                                      "in moat's own environment)")});
       }});
  checks.push_back(
      {Image("4.6", "Ensure that HEALTHCHECK instructions have been added to container images", 1,
             true, "Config.Healthcheck of each image", "every image defines a HEALTHCHECK",
             "Add a HEALTHCHECK instruction to each Dockerfile and rebuild."),
       {"engine.images"},
       [](const DockerFacts& f) {
         if (f.images.empty()) return NotApplicable("no images on the host");
         std::vector<std::string> evidence;
         for (const auto& image : f.images) {
           if (!image.has_healthcheck) evidence.push_back(image.Describe() + ": no HEALTHCHECK");
         }
         if (!evidence.empty()) return Failed(std::move(evidence));
         return Pass({std::to_string(f.images.size()) + " image(s) define a HEALTHCHECK"});
       }});
  checks.push_back(
      {Image("4.7", "Ensure update instructions are not used alone in the Dockerfile", 1, false,
             "image history (CreatedBy)",
             "package index updates are combined with the installs in one RUN",
             "Combine `apt-get update` with `apt-get install` in one RUN instruction (and pin "
             "versions) so cached layers cannot hold stale indexes."),
       {"engine.images"},
       [](const DockerFacts& f) {
         return HistoryInfo(
             f,
             [](const std::string& step) {
               std::string s = AsciiLower(step);
               for (const char* update : {"apt-get update", "apt update", "apk update",
                                          "yum update", "dnf update", "zypper refresh"}) {
                 if (s.find(update) != std::string::npos) return true;
               }
               return false;
             },
             "update instruction");
       }});
  checks.push_back(ManualImage("4.8", "Ensure setuid and setgid permissions are removed", 2,
                               "list setuid/setgid files in each image and remove the unneeded "
                               "ones",
                               "Remove setuid/setgid bits in the Dockerfile: RUN find / -perm "
                               "/6000 -type f -exec chmod a-s {} + || true"));
  checks.push_back(
      {Image("4.9", "Ensure that COPY is used instead of ADD in Dockerfiles", 1, false,
             "image history (CreatedBy)", "images are built with COPY, not ADD",
             "Use COPY instead of ADD unless the archive extraction or URL fetch of ADD is "
             "needed and reviewed."),
       {"engine.images"},
       [](const DockerFacts& f) {
         return HistoryInfo(
             f,
             [](const std::string& step) {
               // Builder history: "ADD file:... in /", "/bin/sh -c #(nop) ADD ...".
               return step.rfind("ADD ", 0) == 0 || step.find("#(nop) ADD ") != std::string::npos;
             },
             "ADD instruction");
       }});
  checks.push_back(ManualImage("4.10", "Ensure secrets are not stored in Dockerfiles", 1,
                               "review Dockerfiles and image history for credentials",
                               "Pass secrets at build time with BuildKit secrets (RUN "
                               "--mount=type=secret) and at run time with secrets, never in ENV "
                               "or files."));
  checks.push_back(ManualImage("4.11", "Ensure only verified packages are installed", 1,
                               "confirm package sources are signed and verified in each build",
                               "Install packages only from repositories whose signatures are "
                               "verified (apt/gpg, rpm --checksig)."));
  checks.push_back(ManualImage("4.12", "Ensure all signed artifacts are validated", 1,
                               "confirm signatures of artifacts are verified before use",
                               "Verify signatures of downloaded artifacts and images (cosign, "
                               "notation, checksums) before they enter a build."));
  return checks;
}

}  // namespace moat::cis::docker
