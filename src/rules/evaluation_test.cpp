// What the engine does to evaluate fast (issue 13 "Speed") must not change what it decides: the
// hash sets of `in`/`pmatch` lists against std::unordered_set, the checks folded by the event-type
// index, comparisons shared between rules and cached per event, RE2's prefilter in front of
// `regex` against RE2 alone, and the syscall event's texts that view or own their text.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "rules/engine.h"
#include "rules/rule_loader.h"
#include "rules/string_set.h"
#include "rules/syscall_event.h"

namespace moat::rules {
namespace {

TEST(StringSetTest, AgreesWithUnorderedSet) {
  std::mt19937 random(7);
  auto word = [&](size_t max_length) {
    std::string text(random() % (max_length + 1), ' ');
    for (char& c : text) c = static_cast<char>('a' + random() % 4);  // few letters: near misses
    return text;
  };
  std::vector<std::string> items;
  for (int i = 0; i < 300; ++i) items.push_back(word(i % 2 ? 8 : 90));  // lengths past 63 too
  items.push_back(items[5]);                                            // a duplicate
  items.push_back("");
  const StringSet set(items);
  const std::unordered_set<std::string> oracle(items.begin(), items.end());
  EXPECT_EQ(set.size(), oracle.size());
  for (int i = 0; i < 20000; ++i) {
    const std::string probe = i % 3 == 0 ? items[random() % items.size()] : word(i % 2 ? 8 : 90);
    EXPECT_EQ(set.Contains(probe), oracle.count(probe) > 0) << probe;
  }
  EXPECT_FALSE(StringSet().Contains("x"));
  EXPECT_FALSE(StringSet().Contains(""));
  EXPECT_NE(StringSet::Hash(""), 0u);
  EXPECT_EQ(StringSet::Hash("/usr/bin/bash"), StringSet::Hash(std::string("/usr/bin/bash")));
}

struct Compiled {
  Engine engine;
  std::shared_ptr<const EventSource> source = MakeSyscallSource();
};

std::unique_ptr<Compiled> Compile(const std::string& rules) {
  auto compiled = std::make_unique<Compiled>();
  auto loaded = LoadRules(compiled->engine, compiled->source, {{"test.yaml", rules}}, {});
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return loaded.ok() ? std::move(compiled) : nullptr;
}

std::vector<std::string> Matched(const Compiled& compiled, const SyscallEvent& event) {
  std::vector<std::string> names;
  for (const CompiledRule* rule : compiled.engine.Match(*compiled.source, event)) {
    names.push_back(compiled.engine.Info(*rule).name);
  }
  return names;
}

SyscallEvent Exec(std::string type, std::string name, std::vector<std::string> args = {}) {
  SyscallEvent event;
  event.type = std::move(type);
  event.proc.name = std::move(name);
  event.proc.args = args;
  return event;
}

// Rules indexed by event type lose the type checks the index guarantees; a type check the index
// does not guarantee (a narrower one, or under `not`) must still be made per event.
TEST(EvaluationTest, TypeChecksFoldedByTheIndexKeepTheirMeaning) {
  auto compiled = Compile(R"(
- macro: spawned
  condition: evt.type in (execve, execveat)
- rule: spawned shell
  desc: d
  condition: spawned and proc.name = bash
  output: o
  priority: notice
- rule: execve only
  desc: d
  condition: spawned and evt.type = execve
  output: o
  priority: notice
- rule: not execveat
  desc: d
  condition: spawned and not evt.type = execveat
  output: o
  priority: notice
- rule: either
  desc: d
  condition: (evt.type = execve or proc.name = zsh) and evt.type in (execve, openat)
  output: o
  priority: notice
)");
  ASSERT_NE(compiled, nullptr);
  using Names = std::vector<std::string>;
  EXPECT_EQ(Matched(*compiled, Exec("execve", "bash")),
            (Names{"spawned shell", "execve only", "not execveat", "either"}));
  EXPECT_EQ(Matched(*compiled, Exec("execveat", "bash")), (Names{"spawned shell"}));
  EXPECT_EQ(Matched(*compiled, Exec("openat", "zsh")), (Names{"either"}));
  EXPECT_EQ(Matched(*compiled, Exec("openat", "bash")), (Names{}));
  EXPECT_EQ(Matched(*compiled, Exec("connect", "bash")), (Names{}));
}

// One comparison shared by several rules (through a macro) is cached per event: the next event
// must be judged afresh, and a comparison that differs only in its values is another one.
TEST(EvaluationTest, SharedComparisonsAreJudgedPerEvent) {
  auto compiled = Compile(R"(
- list: shells
  items: [bash, sh]
- macro: shell
  condition: proc.name in (shells)
- rule: shell a
  desc: d
  condition: evt.type = execve and shell and proc.args contains "-c"
  output: o
  priority: notice
- rule: shell b
  desc: d
  condition: evt.type = execve and shell
  output: o
  priority: notice
- rule: not a shell
  desc: d
  condition: evt.type = execve and not proc.name in (bash, sh, zsh)
  output: o
  priority: notice
)");
  ASSERT_NE(compiled, nullptr);
  using Names = std::vector<std::string>;
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(Matched(*compiled, Exec("execve", "bash", {"-c", "id"})),
              (Names{"shell a", "shell b"}));
    EXPECT_EQ(Matched(*compiled, Exec("execve", "cat", {"-c"})), (Names{"not a shell"}));
    EXPECT_EQ(Matched(*compiled, Exec("execve", "zsh")), (Names{}));
    EXPECT_EQ(Matched(*compiled, Exec("execve", "sh")), (Names{"shell b"}));
  }
}

// The prefilter only skips RE2 where RE2 would say no: the engine's `regex` against
// RE2::FullMatch on texts with and without the pattern's literals, in either case.
TEST(EvaluationTest, RegexPrefilterAgreesWithRe2) {
  const std::vector<std::string> patterns = {
      ".*(?:(^| )(-a|--algo)[ =](rx/0|cryptonight|randomx)( |$)).*",
      ".*(?:(?i)(xmrig|minerd)).*",
      "[a-z]+\\.(sh|py)",
      ".*",
      "(ab|cd)*x?",
  };
  const std::vector<std::string> texts = {"",
                                          "-a rx/0",
                                          "x --algo=randomx -t 2",
                                          "--ALGO=randomx",
                                          "start XMRig now",
                                          "minerd",
                                          "run.sh",
                                          "RUN.SH",
                                          "abcdab",
                                          "abcdx",
                                          "-a rx/1",
                                          "a\nb",
                                          "xmrig\n"};
  for (const std::string& pattern : patterns) {
    std::string quoted;
    for (char c : pattern) {
      if (c == '\\' || c == '"') quoted += '\\';
      quoted += c;
    }
    auto compiled = Compile(
        "- rule: r\n  desc: d\n  condition: evt.type = execve and proc.args "
        "regex \"" +
        quoted + "\"\n  output: o\n  priority: notice\n");
    ASSERT_NE(compiled, nullptr) << pattern;
    RE2 re2(pattern);
    ASSERT_TRUE(re2.ok());
    for (const std::string& text : texts) {
      SyscallEvent event = Exec("execve", "x");
      event.proc.args.push_back(text);
      EXPECT_EQ(!Matched(*compiled, event).empty(), RE2::FullMatch(text, re2))
          << pattern << " on \"" << text << "\"";
    }
  }
}

TEST(EventTextTest, OwnsWhatItIsGivenAndViewsOnlyWhenAsked) {
  EventText text;
  {
    std::string temporary = "/usr/bin/bash";
    text = temporary;  // a copy: the temporary may go
  }
  EXPECT_EQ(text, "/usr/bin/bash");
  const std::string kept = "/usr/bin/zsh";
  text.SetView(kept);
  EXPECT_EQ(text.view().data(), kept.data());
  text.Assign("sh");
  EXPECT_EQ(text, "sh");
  EXPECT_NE(text.view().data(), kept.data());
  EventText copy = text;
  text.Buffer() += "ell";
  EXPECT_EQ(copy, "sh");
  EXPECT_EQ(text, "ell");
  EXPECT_EQ(text + "!", "ell!");

  EventTextList list = std::vector<std::string>{"a", "b"};
  const std::vector<std::string> argv = {"cat", "/etc/shadow", "-n"};
  list.SetViews(argv.data() + 1, argv.data() + argv.size());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].view().data(), argv[1].data());
  list.clear();
  list.push_back("x");
  EXPECT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], "x");
}

TEST(RuleLoaderTest, RefusesRulesOfWhichNoneIsEnabled) {
  Engine engine;
  auto loaded = LoadRules(engine, MakeSyscallSource(),
                          {{"builtin:x.yaml",
                            "- rule: r\n  desc: d\n  condition: evt.type = "
                            "execve\n  output: o\n  priority: notice\n  "
                            "enabled: false\n"}},
                          {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, "no syscall rule is enabled (1 disabled)");

  Engine without_builtin;
  RuleFileOptions options;
  options.builtin_rules = false;
  loaded = LoadRules(without_builtin, MakeSyscallSource(),
                     {{"builtin:x.yaml",
                       "- rule: r\n  desc: d\n  condition: evt.type = execve\n"
                       "  output: o\n  priority: notice\n"}},
                     options);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, "no syscall rule is enabled (0 disabled)");
}

}  // namespace
}  // namespace moat::rules
