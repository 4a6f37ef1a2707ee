// Unit tests for lib/git/repository.h against real bare repositories in temp dirs, written with
// libgit2 (blob → treebuilder → commit) and with the git CLI.
#include <cppunit/extensions/HelperMacros.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lib/git/libgit2.h"
#include "lib/git/repository.h"

namespace fs = std::filesystem;
using kod::Code;
using namespace kod::git;

namespace {

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kod-unit-git-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Runs a shell command (test-only convenience), returns its stdout; throws on a non-zero exit.
std::string Sh(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The error message of a failed Result, "" for a successful one (safe to build eagerly).
template <class T>
std::string Msg(const kod::Result<T>& r) {
  return r.ok() ? std::string() : r.status().message;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
  return out + "]";
}

void Check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + ": " + LastGitMessage(rc));
}

// Writes a tree holding `files` (path → content). A content starting with "symlink:" becomes a
// symlink to the rest, one starting with "exec:" an executable file.
git_oid WriteTree(git_repository* repo, const std::map<std::string, std::string>& files) {
  git_treebuilder* raw = nullptr;
  Check(git_treebuilder_new(&raw, repo, nullptr), "treebuilder");
  GitTreebuilder tb(raw);
  std::map<std::string, std::map<std::string, std::string>> subdirs;
  for (const auto& [path, content] : files) {
    auto slash = path.find('/');
    if (slash != std::string::npos) {
      subdirs[path.substr(0, slash)][path.substr(slash + 1)] = content;
      continue;
    }
    std::string data = content;
    git_filemode_t mode = GIT_FILEMODE_BLOB;
    if (data.rfind("symlink:", 0) == 0) {
      data = data.substr(8);
      mode = GIT_FILEMODE_LINK;
    } else if (data.rfind("exec:", 0) == 0) {
      data = data.substr(5);
      mode = GIT_FILEMODE_BLOB_EXECUTABLE;
    }
    git_oid blob;
    Check(git_blob_create_from_buffer(&blob, repo, data.data(), data.size()), "blob");
    Check(git_treebuilder_insert(nullptr, tb.get(), path.c_str(), &blob, mode), "insert");
  }
  for (const auto& [dir, sub] : subdirs) {
    git_oid tree = WriteTree(repo, sub);
    Check(git_treebuilder_insert(nullptr, tb.get(), dir.c_str(), &tree, GIT_FILEMODE_TREE), "insert tree");
  }
  git_oid out;
  Check(git_treebuilder_write(&out, tb.get()), "write tree");
  return out;
}

// Commits `files` as the whole tree onto refs/heads/<branch> (parent: the branch's current tip,
// if any). Returns the new commit's 40-hex id.
std::string Commit(const std::string& repo_path, const std::string& branch,
                   const std::map<std::string, std::string>& files, const std::string& message = "msg") {
  Init();
  git_repository* raw_repo = nullptr;
  Check(git_repository_open_bare(&raw_repo, repo_path.c_str()), "open");
  GitRepo repo(raw_repo);
  git_oid tree_id = WriteTree(repo.get(), files);
  git_tree* raw_tree = nullptr;
  Check(git_tree_lookup(&raw_tree, repo.get(), &tree_id), "tree lookup");
  GitTree tree(raw_tree);

  const std::string ref = "refs/heads/" + branch;
  GitCommit parent;
  git_oid parent_id;
  if (git_reference_name_to_id(&parent_id, repo.get(), ref.c_str()) == 0) {
    git_commit* raw_parent = nullptr;
    Check(git_commit_lookup(&raw_parent, repo.get(), &parent_id), "parent");
    parent.reset(raw_parent);
  }
  git_signature* raw_sig = nullptr;
  Check(git_signature_new(&raw_sig, "Test", "test@example.com", 1700000000, 0), "signature");
  GitSignature sig(raw_sig);
  const git_commit* parents[] = {parent.get()};
  git_oid id;
  Check(git_commit_create(&id, repo.get(), ref.c_str(), sig.get(), sig.get(), nullptr, message.c_str(),
                          tree.get(), parent ? 1 : 0, parents),
        "commit");
  return OidHex(id);
}

// The id of the tree (or a blob, given "<commit>:<path>") as the git CLI sees it.
std::string RevParse(const std::string& repo, const std::string& rev) {
  return Trim(Sh("git --git-dir=" + repo + " rev-parse " + rev));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

class RepositoryTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RepositoryTest);
  CPPUNIT_TEST(InitBareCreatesBareRepoWithHeadOnDefaultBranch);
  CPPUNIT_TEST(InitBareHonoursAnotherDefaultBranch);
  CPPUNIT_TEST(InitBareCreatesMissingParents);
  CPPUNIT_TEST(InitBareFailsWithConflictWhenPathExists);
  CPPUNIT_TEST(InitBareRejectsInvalidBranchName);
  CPPUNIT_TEST(UnbornHeadHasNoBranchesAndDefaultBranchMain);
  CPPUNIT_TEST(DefaultBranchFollowsSymbolicHeadEvenWhenUnborn);
  CPPUNIT_TEST(MissingRepositoryIsNotFound);
  CPPUNIT_TEST(ListBranchesIsSortedBytewise);
  CPPUNIT_TEST(SummarizeAgreesWithListBranchesAndDefaultBranch);
  CPPUNIT_TEST(PackRefsMovesLooseBranchesIntoPackedRefs);
  CPPUNIT_TEST(BranchTipReturnsFullHex);
  CPPUNIT_TEST(BranchTipOfMissingBranchIsNotFound);
  CPPUNIT_TEST(BranchTipWithInvalidRefNameIsNotFound);
  CPPUNIT_TEST(ResolveAcceptsTipAncestorsAndPrefixes);
  CPPUNIT_TEST(ResolveRejectsCommitNotOnBranch);
  CPPUNIT_TEST(ResolveRejectsBadHex);
  CPPUNIT_TEST(ResolveRejectsUnknownCommit);
  CPPUNIT_TEST(ResolveRejectsNonCommitObjects);
  CPPUNIT_TEST(ResolveOnMissingBranchIsNotFound);
  CPPUNIT_TEST(WorkflowFilesListsTomlBlobsSorted);
  CPPUNIT_TEST(WorkflowFilesEmptyWhenDirMissingOrNotADir);
  CPPUNIT_TEST(WorkflowFilesRejectsBadCommit);
  CPPUNIT_TEST(ReadBlobReturnsContentOrNullopt);
  CPPUNIT_TEST(CheckoutWritesTreeWithoutIndex);
  CPPUNIT_TEST(CheckoutRejectsMissingDir);
  CPPUNIT_TEST(WorksOnRepoWrittenByGitCli);
  CPPUNIT_TEST_SUITE_END();

 public:
  void InitBareCreatesBareRepoWithHeadOnDefaultBranch() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    CPPUNIT_ASSERT_EQUAL(std::string("ref: refs/heads/main"), Trim(ReadFile(repo + "/HEAD")));
    CPPUNIT_ASSERT(fs::is_directory(repo + "/objects"));
    CPPUNIT_ASSERT(fs::is_directory(repo + "/refs/heads"));
    CPPUNIT_ASSERT(!fs::exists(repo + "/.git"));
    CPPUNIT_ASSERT(!fs::exists(repo + "/index"));
    CPPUNIT_ASSERT_EQUAL(std::string("true"), Trim(Sh("git --git-dir=" + repo + " config core.bare")));
  }

  void InitBareHonoursAnotherDefaultBranch() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "trunk").ok());
    auto b = DefaultBranch(repo);
    CPPUNIT_ASSERT(b.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("trunk"), *b);
  }

  void InitBareCreatesMissingParents() {
    TempDir tmp;
    CPPUNIT_ASSERT(InitBare(tmp / "a/b/r.git", "main").ok());
    CPPUNIT_ASSERT(fs::exists(tmp / "a/b/r.git/HEAD"));
  }

  void InitBareFailsWithConflictWhenPathExists() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    kod::Status again = InitBare(repo, "main");
    CPPUNIT_ASSERT(again.code == Code::Conflict);
    CPPUNIT_ASSERT_EQUAL(std::string("Repository already exists"), again.message);

    fs::create_directory(tmp / "plain");
    CPPUNIT_ASSERT(InitBare(tmp / "plain", "main").code == Code::Conflict);
    CPPUNIT_ASSERT(fs::is_empty(tmp / "plain"));  // nothing written into the existing dir
    std::ofstream(tmp / "file") << "x";
    CPPUNIT_ASSERT(InitBare(tmp / "file", "main").code == Code::Conflict);
  }

  void InitBareRejectsInvalidBranchName() {
    TempDir tmp;
    for (const char* bad : {"", "a..b", "x.lock", "-", "-x", "HEAD", "a b", "a~b", "/x", "x/", "a\\b"}) {
      kod::Status s = InitBare(tmp / "r.git", bad);
      CPPUNIT_ASSERT_MESSAGE(std::string("[") + bad + "] " + s.message, s.code == Code::InvalidArgument);
      CPPUNIT_ASSERT_MESSAGE(bad, !fs::exists(tmp / "r.git"));
    }
  }

  void UnbornHeadHasNoBranchesAndDefaultBranchMain() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    auto branches = ListBranches(repo);
    CPPUNIT_ASSERT(branches.ok());
    CPPUNIT_ASSERT(branches->empty());
    auto def = DefaultBranch(repo);
    CPPUNIT_ASSERT(def.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("main"), *def);
    auto tip = BranchTip(repo, "main");
    CPPUNIT_ASSERT(tip.status().code == Code::NotFound);
    CPPUNIT_ASSERT_EQUAL(std::string("Branch not found: main"), tip.status().message);
  }

  void DefaultBranchFollowsSymbolicHeadEvenWhenUnborn() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    Commit(repo, "main", {{"a", "1"}});
    Sh("git --git-dir=" + repo + " symbolic-ref HEAD refs/heads/dev/next");
    auto def = DefaultBranch(repo);
    CPPUNIT_ASSERT(def.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("dev/next"), *def);
    CPPUNIT_ASSERT_EQUAL(std::string("[main]"), Join(*ListBranches(repo)));
  }

  void MissingRepositoryIsNotFound() {
    TempDir tmp;
    CPPUNIT_ASSERT(ListBranches(tmp / "none.git").status().code == Code::NotFound);
    CPPUNIT_ASSERT(DefaultBranch(tmp / "none.git").status().code == Code::NotFound);
    CPPUNIT_ASSERT_EQUAL(std::string("Repository not found"),
                         BranchTip(tmp / "none.git", "main").status().message);
    fs::create_directory(tmp / "empty.git");
    CPPUNIT_ASSERT(ListBranches(tmp / "empty.git").status().code == Code::NotFound);
  }

  void ListBranchesIsSortedBytewise() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    for (const char* b : {"main", "alpha", "Zeta", "feature/x", "_u", "feature-y"})
      Commit(repo, b, {{"f", b}});
    auto branches = ListBranches(repo);
    CPPUNIT_ASSERT(branches.ok());
    // 'Z' (0x5A) < '_' (0x5F) < 'a' (0x61); '-' (0x2D) < '/' (0x2F).
    CPPUNIT_ASSERT_EQUAL(std::string("[Zeta,_u,alpha,feature-y,feature/x,main]"), Join(*branches));
  }

  void SummarizeAgreesWithListBranchesAndDefaultBranch() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "trunk").ok());
    auto empty = Summarize(repo);
    CPPUNIT_ASSERT(empty.ok());
    CPPUNIT_ASSERT(empty->branches.empty());
    CPPUNIT_ASSERT_EQUAL(std::string("trunk"), empty->default_branch);
    for (const char* b : {"trunk", "dev"}) Commit(repo, b, {{"f", b}});
    auto summary = Summarize(repo);
    CPPUNIT_ASSERT(summary.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("[dev,trunk]"), Join(summary->branches));
    CPPUNIT_ASSERT_EQUAL(*DefaultBranch(repo), summary->default_branch);
    CPPUNIT_ASSERT(Summarize(tmp / "none.git").status().code == Code::NotFound);
    // A repository deleted and created again at the same path is read afresh, not from the
    // opened one Summarize keeps.
    fs::remove_all(repo);
    CPPUNIT_ASSERT(Summarize(repo).status().code == Code::NotFound);
    CPPUNIT_ASSERT(InitBare(repo, "other").ok());
    auto fresh = Summarize(repo);
    CPPUNIT_ASSERT(fresh.ok());
    CPPUNIT_ASSERT(fresh->branches.empty());
    CPPUNIT_ASSERT_EQUAL(std::string("other"), fresh->default_branch);
    Commit(repo, "other", {{"f", "x"}});
    CPPUNIT_ASSERT_EQUAL(std::string("[other]"), Join(Summarize(repo)->branches));  // new refs seen
  }

  void PackRefsMovesLooseBranchesIntoPackedRefs() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string tip;
    for (const char* b : {"main", "dev", "feature/x"}) tip = Commit(repo, b, {{"f", b}});
    CPPUNIT_ASSERT(fs::exists(fs::path(repo) / "refs/heads/feature/x"));
    CPPUNIT_ASSERT(PackRefs(repo).ok());
    CPPUNIT_ASSERT(!fs::exists(fs::path(repo) / "refs/heads/feature/x"));
    CPPUNIT_ASSERT(!fs::exists(fs::path(repo) / "refs/heads/main"));
    std::ifstream packed(fs::path(repo) / "packed-refs");
    std::string text((std::istreambuf_iterator<char>(packed)), std::istreambuf_iterator<char>());
    CPPUNIT_ASSERT(text.find(tip + " refs/heads/feature/x") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(std::string("[dev,feature/x,main]"), Join(*ListBranches(repo)));
    CPPUNIT_ASSERT_EQUAL(tip, *BranchTip(repo, "feature/x"));
    CPPUNIT_ASSERT(PackRefs(tmp / "none.git").code == Code::NotFound);
  }

  void BranchTipReturnsFullHex() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    Commit(repo, "main", {{"a", "1"}});
    std::string c2 = Commit(repo, "main", {{"a", "2"}});
    auto tip = BranchTip(repo, "main");
    CPPUNIT_ASSERT(tip.ok());
    CPPUNIT_ASSERT_EQUAL(c2, *tip);
    CPPUNIT_ASSERT_EQUAL(size_t{40}, tip->size());
    CPPUNIT_ASSERT_EQUAL(RevParse(repo, "refs/heads/main"), *tip);
  }

  void BranchTipOfMissingBranchIsNotFound() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    Commit(repo, "feature/x", {{"a", "1"}});
    auto tip = BranchTip(repo, "nope");
    CPPUNIT_ASSERT(tip.status().code == Code::NotFound);
    CPPUNIT_ASSERT_EQUAL(std::string("Branch not found: nope"), tip.status().message);
    // A directory of refs is not a branch.
    CPPUNIT_ASSERT(BranchTip(repo, "feature").status().code == Code::NotFound);
  }

  void BranchTipWithInvalidRefNameIsNotFound() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    Commit(repo, "main", {{"a", "1"}});
    for (const char* bad : {"", "..", "../main", "a..b", "main.lock", "x y", "/main", "main/"}) {
      auto tip = BranchTip(repo, bad);
      CPPUNIT_ASSERT_MESSAGE(bad, tip.status().code == Code::NotFound);
      CPPUNIT_ASSERT_EQUAL(std::string("Branch not found: ") + bad, tip.status().message);
    }
  }

  void ResolveAcceptsTipAncestorsAndPrefixes() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c1 = Commit(repo, "main", {{"a", "1"}});
    std::string c2 = Commit(repo, "main", {{"a", "2"}});
    std::string c3 = Commit(repo, "main", {{"a", "3"}});
    for (const std::string& c : {c1, c2, c3}) {
      for (size_t len : {size_t{7}, size_t{12}, size_t{40}}) {
        auto r = ResolveCommitOnBranch(repo, "main", c.substr(0, len));
        CPPUNIT_ASSERT_MESSAGE(c.substr(0, len) + ": " + Msg(r), r.ok());
        CPPUNIT_ASSERT_EQUAL(c, *r);
      }
    }
    std::string upper = c2;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto r = ResolveCommitOnBranch(repo, "main", upper.substr(0, 9));
    CPPUNIT_ASSERT(r.ok());
    CPPUNIT_ASSERT_EQUAL(c2, *r);  // always answered in lower case
  }

  void ResolveRejectsCommitNotOnBranch() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string base = Commit(repo, "main", {{"a", "1"}});
    Sh("git --git-dir=" + repo + " branch feature " + base);
    std::string on_feature = Commit(repo, "feature", {{"a", "f"}});
    std::string on_main = Commit(repo, "main", {{"a", "2"}});
    auto r = ResolveCommitOnBranch(repo, "main", on_feature);
    CPPUNIT_ASSERT(r.status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT_EQUAL("Commit " + on_feature + " is not on branch main", r.status().message);
    // The descendant is not on the older branch either.
    CPPUNIT_ASSERT(ResolveCommitOnBranch(repo, "feature", on_main.substr(0, 7)).status().code ==
                   Code::InvalidArgument);
    // The common base is on both.
    CPPUNIT_ASSERT(ResolveCommitOnBranch(repo, "feature", base).ok());
  }

  void ResolveRejectsBadHex() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main", {{"a", "1"}});
    for (const std::string& bad :
         {c.substr(0, 6), std::string(""), std::string("zzzzzzz"), c.substr(0, 7) + "g", c + "0",
          std::string(" ") + c.substr(0, 7), c.substr(0, 7) + "\n", std::string("HEAD~1x")}) {
      auto r = ResolveCommitOnBranch(repo, "main", bad);
      CPPUNIT_ASSERT_MESSAGE(bad, r.status().code == Code::InvalidArgument);
      CPPUNIT_ASSERT_EQUAL(std::string("Commit must be 7 to 40 hexadecimal digits"), r.status().message);
    }
  }

  void ResolveRejectsUnknownCommit() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main", {{"a", "1"}});
    std::string other = c[0] == '0' ? "1111111" : "0000000";
    auto r = ResolveCommitOnBranch(repo, "main", other);
    CPPUNIT_ASSERT(r.status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT_EQUAL("Commit not found: " + other, r.status().message);
  }

  void ResolveRejectsNonCommitObjects() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main", {{"a", "1"}});
    std::string tree = RevParse(repo, c + "^{tree}");
    std::string blob = RevParse(repo, c + ":a");
    for (const std::string& id : {tree, blob}) {
      auto r = ResolveCommitOnBranch(repo, "main", id);
      CPPUNIT_ASSERT(r.status().code == Code::InvalidArgument);
      CPPUNIT_ASSERT_EQUAL("Not a commit: " + id, r.status().message);
    }
  }

  void ResolveOnMissingBranchIsNotFound() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main", {{"a", "1"}});
    auto r = ResolveCommitOnBranch(repo, "nope", c);
    CPPUNIT_ASSERT(r.status().code == Code::NotFound);
    CPPUNIT_ASSERT_EQUAL(std::string("Branch not found: nope"), r.status().message);
  }

  void WorkflowFilesListsTomlBlobsSorted() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main",
                           {{"README.md", "hi"},
                            {"top.toml", "not in the dir"},
                            {".kod/other.toml", "wrong dir"},
                            {".kod/workflows/b.toml", "[step:b]\nrun: true\n"},
                            {".kod/workflows/a.toml", "[step:a]\n"},
                            {".kod/workflows/Z.toml", "x"},
                            {".kod/workflows/run.toml", "exec:#!/bin/sh\n"},
                            {".kod/workflows/notes.md", "no"},
                            {".kod/workflows/x.toml.bak", "no"},
                            {".kod/workflows/.toml", "no: only the suffix"},
                            {".kod/workflows/link.toml", "symlink:a.toml"},
                            {".kod/workflows/dir.toml/inner.toml", "no: a directory"},
                            {".kod/workflows/sub/c.toml", "no: nested"}});
    auto files = WorkflowFiles(repo, c);
    CPPUNIT_ASSERT_MESSAGE(Msg(files), files.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("[Z.toml,a.toml,b.toml,run.toml]"), Join(*files));
  }

  void WorkflowFilesEmptyWhenDirMissingOrNotADir() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string none = Commit(repo, "main", {{"a", "1"}});
    auto files = WorkflowFiles(repo, none);
    CPPUNIT_ASSERT(files.ok());
    CPPUNIT_ASSERT(files->empty());
    std::string only_kod = Commit(repo, "main", {{".kod/x", "1"}});
    CPPUNIT_ASSERT(WorkflowFiles(repo, only_kod)->empty());
    std::string file = Commit(repo, "main", {{".kod/workflows", "a file"}});
    files = WorkflowFiles(repo, file);
    CPPUNIT_ASSERT(files.ok());
    CPPUNIT_ASSERT(files->empty());
  }

  void WorkflowFilesRejectsBadCommit() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main", {{"a", "1"}});
    CPPUNIT_ASSERT(WorkflowFiles(repo, c.substr(0, 7)).status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT(WorkflowFiles(repo, "main").status().code == Code::InvalidArgument);
    std::string missing(40, c[0] == 'a' ? 'b' : 'a');
    auto r = WorkflowFiles(repo, missing);
    CPPUNIT_ASSERT(r.status().code == Code::NotFound);
    CPPUNIT_ASSERT_EQUAL("Commit not found: " + missing, r.status().message);
    // A tree id is not a commit.
    CPPUNIT_ASSERT(WorkflowFiles(repo, RevParse(repo, c + "^{tree}")).status().code == Code::NotFound);
  }

  void ReadBlobReturnsContentOrNullopt() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    const std::string binary("a\0b\xff\n", 5);
    std::string c = Commit(repo, "main",
                           {{".kod/workflows/build.toml", "[step:build]\nrun: make\n"},
                            {"bin", binary},
                            {"link", "symlink:bin"},
                            {"d/e/f.txt", "deep"}});
    auto r = ReadBlob(repo, c, ".kod/workflows/build.toml");
    CPPUNIT_ASSERT(r.ok() && r->has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("[step:build]\nrun: make\n"), **r);
    r = ReadBlob(repo, c, "bin");
    CPPUNIT_ASSERT(r.ok() && r->has_value());
    CPPUNIT_ASSERT(binary == **r);
    r = ReadBlob(repo, c, "d/e/f.txt");
    CPPUNIT_ASSERT(r.ok() && r->has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("deep"), **r);
    for (const char* none : {"missing", "d", "d/e", "link", ".kod/workflows/nope.toml", "../bin", "/bin",
                             "d//e/f.txt", "bin/x"}) {
      r = ReadBlob(repo, c, none);
      CPPUNIT_ASSERT_MESSAGE(none + std::string(": ") + Msg(r), r.ok());
      CPPUNIT_ASSERT_MESSAGE(none, !r->has_value());
    }
    CPPUNIT_ASSERT(ReadBlob(repo, c, "").status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT(ReadBlob(repo, "zz", "bin").status().code == Code::InvalidArgument);
  }

  void CheckoutWritesTreeWithoutIndex() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    Commit(repo, "main", {{"old.txt", "old"}});
    std::string c = Commit(repo, "main",
                           {{"README.md", "hello\n"},
                            {"script.sh", "exec:#!/bin/sh\necho hi\n"},
                            {".kod/workflows/build.toml", "[step:build]\n"},
                            {"src/a/b.c", "int x;\n"}});
    // The tip of HEAD's branch: the case where libgit2's baseline (HEAD) equals the target.
    const std::string out = tmp / "out";
    fs::create_directory(out);
    kod::Status s = CheckoutTo(repo, c, out);
    CPPUNIT_ASSERT_MESSAGE(s.message, s.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), ReadFile(out + "/README.md"));
    CPPUNIT_ASSERT_EQUAL(std::string("[step:build]\n"), ReadFile(out + "/.kod/workflows/build.toml"));
    CPPUNIT_ASSERT_EQUAL(std::string("int x;\n"), ReadFile(out + "/src/a/b.c"));
    CPPUNIT_ASSERT(!fs::exists(out + "/old.txt"));
    CPPUNIT_ASSERT(!fs::exists(out + "/.git"));
    struct stat st;
    CPPUNIT_ASSERT(::stat((out + "/script.sh").c_str(), &st) == 0 && (st.st_mode & S_IXUSR));
    CPPUNIT_ASSERT(!fs::exists(repo + "/index"));

    // An older commit into a second dir, and over files already present (FORCE).
    const std::string out2 = tmp / "out2";
    fs::create_directory(out2);
    std::ofstream(out2 + "/old.txt") << "to be overwritten";
    std::string first = RevParse(repo, "main~1");
    s = CheckoutTo(repo, first, out2);
    CPPUNIT_ASSERT_MESSAGE(s.message, s.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("old"), ReadFile(out2 + "/old.txt"));
    CPPUNIT_ASSERT(!fs::exists(out2 + "/README.md"));
    CPPUNIT_ASSERT(!fs::exists(repo + "/index"));
  }

  void CheckoutRejectsMissingDir() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    std::string c = Commit(repo, "main", {{"a", "1"}});
    CPPUNIT_ASSERT(CheckoutTo(repo, c, tmp / "missing").code == Code::InvalidArgument);
    CPPUNIT_ASSERT(!fs::exists(tmp / "missing"));
    std::string missing(40, c[0] == 'a' ? 'b' : 'a');
    fs::create_directory(tmp / "out");
    CPPUNIT_ASSERT(CheckoutTo(repo, missing, tmp / "out").code == Code::NotFound);
  }

  void WorksOnRepoWrittenByGitCli() {
    TempDir tmp;
    const std::string repo = tmp / "r.git";
    const std::string work = tmp / "work";
    CPPUNIT_ASSERT(InitBare(repo, "main").ok());
    const std::string git = "git -C " + work + " -c user.name=T -c user.email=t@example.com ";
    Sh("git init -q -b main " + work);
    Sh("mkdir -p " + work + "/.kod/workflows && printf '[step:t]\\nrun: true\\n' > " + work +
       "/.kod/workflows/test.toml && echo hi > " + work + "/README");
    Sh(git + "add -A && " + git + "commit -q -m one");
    Sh(git + "checkout -q -b topic && echo x > " + work + "/x && " + git + "add x && " + git +
       "commit -q -m two");
    Sh(git + "push -q " + repo + " main topic 2>&1");

    CPPUNIT_ASSERT_EQUAL(std::string("[main,topic]"), Join(*ListBranches(repo)));
    std::string main_tip = Trim(Sh(git + "rev-parse main"));
    std::string topic_tip = Trim(Sh(git + "rev-parse topic"));
    CPPUNIT_ASSERT_EQUAL(main_tip, *BranchTip(repo, "main"));
    CPPUNIT_ASSERT_EQUAL(topic_tip, *BranchTip(repo, "topic"));
    CPPUNIT_ASSERT_EQUAL(main_tip, *ResolveCommitOnBranch(repo, "topic", main_tip.substr(0, 8)));
    CPPUNIT_ASSERT(ResolveCommitOnBranch(repo, "main", topic_tip).status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT_EQUAL(std::string("[test.toml]"), Join(*WorkflowFiles(repo, main_tip)));
    auto blob = ReadBlob(repo, topic_tip, ".kod/workflows/test.toml");
    CPPUNIT_ASSERT(blob.ok() && blob->has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("[step:t]\nrun: true\n"), **blob);
    // The CLI still sees a healthy repository (nothing we did corrupted it).
    Sh("git --git-dir=" + repo + " fsck --no-progress --strict 2>&1");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RepositoryTest);
