// Repository rows and directories change together (issue 3): rename and delete with a failure
// injected between the database step and the directory step leave both sides consistent.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "lib/service/repos.h"
#include "lib/store/repos.h"
#include "tests/store/store_fixture.h"

using namespace kod;
namespace fs = std::filesystem;

namespace {
Status InjectedFault() { return Internal("injected fault"); }
auth::Principal Admin() { return auth::Principal{"admintoken01", {auth::Permission::Admin}, std::nullopt}; }
// A system token (no username): reads every repository, owns none it did not create.
auth::Principal System() {
  return auth::Principal{"systemtoken1", {auth::Permission::RepoWrite, auth::Permission::RepoDelete,
                                          auth::Permission::CollaboratorRead, auth::Permission::CollaboratorWrite},
                         std::nullopt};
}
}  // namespace

class RepoStoreTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RepoStoreTest);
  CPPUNIT_TEST(CreateMakesRowAndBareRepository);
  CPPUNIT_TEST(ConcurrentCreatesHaveOneWinner);
  CPPUNIT_TEST(DirectoryWithoutRowIsAConflict);
  CPPUNIT_TEST(RenameMovesRowDirectoryAndKeepsChildren);
  CPPUNIT_TEST(RenameFailureBetweenDbAndDiskUndoesBoth);
  CPPUNIT_TEST(DeleteFailureBetweenDbAndDiskKeepsBoth);
  CPPUNIT_TEST(DeleteCascadesAndRecreateInheritsNothing);
  CPPUNIT_TEST(InterruptedDeleteIsRecovered);
  CPPUNIT_TEST(RenameAndDeleteWaitForAPushAndThenRefuse);
  CPPUNIT_TEST(OwnerOnlyUseCasesRefuseOthersBeforeLookingAtTheirInput);
  CPPUNIT_TEST(ConnectionLostOnceTheDirectoryExistsLeavesBothOrNeither);
  CPPUNIT_TEST(CommitLostDuringRenameKeepsRowAndDirectoryTogether);
  CPPUNIT_TEST(CommitLostDuringDeleteKeepsRowAndDirectoryTogether);
  CPPUNIT_TEST_SUITE_END();

  std::unique_ptr<test::StoreWorld> w_;

 public:
  void setUp() override { w_ = std::make_unique<test::StoreWorld>(); }
  void tearDown() override {
    service::g_fault_between_db_and_disk = nullptr;
    w_->db.SetStatementHookForTest(nullptr);
    w_.reset();
  }

  // The first statement of the fixture's session for which `when(sql)` holds finds its connection
  // killed (as by a server restart at that moment): the server rolls back what was open, and the
  // client cannot know whether the statement ran.
  void LoseConnectionWhen(std::function<bool(const std::string&)> when) {
    int64_t id = 0;
    CPPUNIT_ASSERT(w_->db.Run([&] {
      db::Rows r = w_->db.Prepare("SELECT CONNECTION_ID()").Query();
      r.Next();
      id = r.Int64(1);
      return Status::Ok();
    }).ok());
    w_->db.SetStatementHookForTest([id, when, done = false](const std::string& sql) mutable {
      if (done || !when(sql)) return;
      done = true;
      db::Session killer(test::StoreDbOptions());
      killer.ExecuteRaw("KILL " + std::to_string(id));
    });
  }
  void LoseTheNextCommit() {
    LoseConnectionWhen([](const std::string& sql) { return sql == "COMMIT"; });
  }
  bool RowExists(const std::string& name) {
    db::Rows r = w_->db.Prepare("SELECT COUNT(*) FROM repos WHERE name = ?").Bind(name).Query();
    r.Next();
    return r.Int64(1) == 1;
  }

  service::RepoRef Ref(const std::string& name) {
    auto ref = service::ResolveRepo(w_->env, Admin(), name);
    CPPUNIT_ASSERT_MESSAGE(name, ref.ok());
    return *ref;
  }

  void CreateMakesRowAndBareRepository() {
    auto repo = service::CreateRepo(w_->env, Admin(), "alpha");
    CPPUNIT_ASSERT(repo.ok());
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/alpha.git/HEAD"));
    auto details = service::GetRepoDetails(w_->env, Ref("alpha"));
    CPPUNIT_ASSERT(details.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("main"), details->default_branch);
    CPPUNIT_ASSERT(details->branches.empty());
  }

  void ConcurrentCreatesHaveOneWinner() {
    // Eight sessions race to create the same name: the unique index decides, not a prior check.
    std::atomic<int> created{0}, conflicts{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
      threads.emplace_back([&] {
        db::Session s(test::StoreDbOptions());
        service::Env env{w_->config, s, nullptr};
        auto r = service::CreateRepo(env, Admin(), "raced");
        if (r.ok()) ++created;
        else if (r.status().code == Code::Conflict) ++conflicts;
        else ++other;
      });
    for (auto& t : threads) t.join();
    CPPUNIT_ASSERT_EQUAL(1, created.load());
    CPPUNIT_ASSERT_EQUAL(7, conflicts.load());
    CPPUNIT_ASSERT_EQUAL(0, other.load());
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/raced.git/HEAD"));
  }

  void DirectoryWithoutRowIsAConflict() {
    fs::create_directories(w_->config.repos_dir + "/stray.git");
    std::ofstream(w_->config.repos_dir + "/stray.git/marker") << "keep";
    auto r = service::CreateRepo(w_->env, Admin(), "stray");
    CPPUNIT_ASSERT(!r.ok());
    CPPUNIT_ASSERT(r.status().code == Code::Conflict);
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/stray.git/marker"));  // left untouched
    CPPUNIT_ASSERT(!service::ResolveRepo(w_->env, Admin(), "stray").ok());    // and no row
  }

  void RenameMovesRowDirectoryAndKeepsChildren() {
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "old").ok());
    CPPUNIT_ASSERT(service::AddCollaborator(w_->env, Ref("old"), std::string("alice")).ok());
    auto renamed = service::RenameRepo(w_->env, Ref("old"), std::string("new"));
    CPPUNIT_ASSERT(renamed.ok());
    CPPUNIT_ASSERT(!fs::exists(w_->config.repos_dir + "/old.git"));
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/new.git/HEAD"));
    CPPUNIT_ASSERT(Ref("new").collaborators == std::vector<std::string>{"alice"});
    CPPUNIT_ASSERT(!service::ResolveRepo(w_->env, Admin(), "old").ok());
  }

  void RenameFailureBetweenDbAndDiskUndoesBoth() {
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "keep").ok());
    service::g_fault_between_db_and_disk = InjectedFault;
    auto r = service::RenameRepo(w_->env, Ref("keep"), std::string("moved"));
    service::g_fault_between_db_and_disk = nullptr;
    CPPUNIT_ASSERT(!r.ok());
    CPPUNIT_ASSERT(service::ResolveRepo(w_->env, Admin(), "keep").ok());    // row rolled back
    CPPUNIT_ASSERT(!service::ResolveRepo(w_->env, Admin(), "moved").ok());
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/keep.git/HEAD"));   // directory untouched
    CPPUNIT_ASSERT(!fs::exists(w_->config.repos_dir + "/moved.git"));
  }

  void DeleteFailureBetweenDbAndDiskKeepsBoth() {
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "survivor").ok());
    CPPUNIT_ASSERT(service::AddCollaborator(w_->env, Ref("survivor"), std::string("bob")).ok());
    service::g_fault_between_db_and_disk = InjectedFault;
    Status s = service::DeleteRepo(w_->env, Ref("survivor"));
    service::g_fault_between_db_and_disk = nullptr;
    CPPUNIT_ASSERT(!s.ok());
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/survivor.git/HEAD"));
    CPPUNIT_ASSERT(Ref("survivor").collaborators == std::vector<std::string>{"bob"});  // cascade rolled back
  }

  void DeleteCascadesAndRecreateInheritsNothing() {
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "phoenix").ok());
    CPPUNIT_ASSERT(service::AddCollaborator(w_->env, Ref("phoenix"), std::string("carol")).ok());
    CPPUNIT_ASSERT(service::DeleteRepo(w_->env, Ref("phoenix")).ok());
    CPPUNIT_ASSERT(!fs::exists(w_->config.repos_dir + "/phoenix.git"));
    CPPUNIT_ASSERT(fs::is_empty(w_->config.repos_dir + "/.trash"));
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "phoenix").ok());
    CPPUNIT_ASSERT(Ref("phoenix").collaborators.empty());
    db::Rows r = w_->db.Prepare("SELECT COUNT(*) FROM collaborators").Query();
    r.Next();
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, r.Int64(1));
  }

  void RenameAndDeleteWaitForAPushAndThenRefuse() {
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "pushed").ok());
    service::RepoRef ref = Ref("pushed");
    {
      auto push = service::RepoLock::Shared(w_->config, ref.repo.id);  // as the git bridge holds it
      CPPUNIT_ASSERT(push.ok());
      auto renamed = service::RenameRepo(w_->env, ref, std::string("moved-away"));
      CPPUNIT_ASSERT(!renamed.ok());
      CPPUNIT_ASSERT(renamed.status().code == Code::Conflict);
      Status deleted = service::DeleteRepo(w_->env, ref);
      CPPUNIT_ASSERT(deleted.code == Code::Conflict);
      CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/pushed.git/HEAD"));  // untouched
    }
    // The push is over: both go through.
    auto renamed = service::RenameRepo(w_->env, ref, std::string("moved-away"));
    CPPUNIT_ASSERT(renamed.ok());
    CPPUNIT_ASSERT(service::DeleteRepo(w_->env, Ref("moved-away")).ok());
    CPPUNIT_ASSERT(!fs::exists(w_->config.repos_dir + "/.locks/" + std::to_string(ref.repo.id) + ".lock"));
  }

  void OwnerOnlyUseCasesRefuseOthersBeforeLookingAtTheirInput() {
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "owned").ok());
    CPPUNIT_ASSERT(service::AddCollaborator(w_->env, Ref("owned"), std::string("dave")).ok());
    auto other = service::ResolveRepo(w_->env, System(), "owned");
    CPPUNIT_ASSERT(other.ok() && other->access == auth::RepoAccess::Read);
    const Status bad_input = InvalidArgument("name is required");
    auto expect_owner_rule = [](const Status& s, const std::string& what) {
      CPPUNIT_ASSERT_MESSAGE(what + ": " + s.message, s.code == Code::PermissionDenied);
      CPPUNIT_ASSERT_EQUAL("Only the repository owner can " + what, s.message);
    };
    expect_owner_rule(service::RenameRepo(w_->env, *other, bad_input).status(), "rename this repository");
    expect_owner_rule(service::RenameRepo(w_->env, *other, std::string("taken")).status(), "rename this repository");
    expect_owner_rule(service::DeleteRepo(w_->env, *other), "delete this repository");
    expect_owner_rule(service::ListCollaborators(w_->env, *other).status(), "list collaborators");
    expect_owner_rule(service::AddCollaborator(w_->env, *other, bad_input), "add collaborators");
    expect_owner_rule(service::RemoveCollaborator(w_->env, *other, "dave"), "remove collaborators");
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/owned.git/HEAD"));  // nothing changed
    CPPUNIT_ASSERT(Ref("owned").collaborators == std::vector<std::string>{"dave"});
    // The owner gets past the rule to the input error, then to the result.
    CPPUNIT_ASSERT_EQUAL(bad_input.message, service::RenameRepo(w_->env, Ref("owned"), bad_input).status().message);
    CPPUNIT_ASSERT_EQUAL(bad_input.message, service::AddCollaborator(w_->env, Ref("owned"), bad_input).message);
    auto listed = service::ListCollaborators(w_->env, Ref("owned"));
    CPPUNIT_ASSERT(listed.ok() && *listed == std::vector<std::string>{"dave"});
  }

  void ConnectionLostOnceTheDirectoryExistsLeavesBothOrNeither() {
    // Before the fix the directory was made inside the transaction: with the connection lost at
    // its COMMIT, create answered success with a directory and no row (and, when its retry ran,
    // 409 for a name nobody had, removing the directory).
    const std::string dir = w_->config.repos_dir + "/fresh.git";
    LoseConnectionWhen([dir](const std::string&) { return fs::exists(dir); });
    auto r = service::CreateRepo(w_->env, Admin(), "fresh");
    w_->db.SetStatementHookForTest(nullptr);
    if (r.ok()) {
      CPPUNIT_ASSERT(RowExists("fresh"));
      CPPUNIT_ASSERT(fs::exists(dir + "/HEAD"));
      return;
    }
    CPPUNIT_ASSERT_MESSAGE(r.status().message, r.status().code == Code::Unavailable);
    CPPUNIT_ASSERT(!RowExists("fresh"));
    CPPUNIT_ASSERT(!fs::exists(dir));
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "fresh").ok());
  }

  void CommitLostDuringRenameKeepsRowAndDirectoryTogether() {
    // Before the fix the retry found the directory already moved, failed, and left the row under
    // the old name with the directory under the new one.
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "before").ok());
    service::RepoRef ref = Ref("before");
    LoseTheNextCommit();
    auto r = service::RenameRepo(w_->env, ref, std::string("after"));
    w_->db.SetStatementHookForTest(nullptr);
    CPPUNIT_ASSERT(!r.ok());
    CPPUNIT_ASSERT_MESSAGE(r.status().message, r.status().code == Code::Unavailable);
    CPPUNIT_ASSERT(RowExists("before") && !RowExists("after"));
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/before.git/HEAD"));
    CPPUNIT_ASSERT(!fs::exists(w_->config.repos_dir + "/after.git"));
  }

  void CommitLostDuringDeleteKeepsRowAndDirectoryTogether() {
    // Before the fix the retry committed the delete but left the directory in the trash.
    CPPUNIT_ASSERT(service::CreateRepo(w_->env, Admin(), "doomed").ok());
    service::RepoRef ref = Ref("doomed");
    LoseTheNextCommit();
    Status s = service::DeleteRepo(w_->env, ref);
    w_->db.SetStatementHookForTest(nullptr);
    CPPUNIT_ASSERT_MESSAGE(s.message, s.code == Code::Unavailable);
    CPPUNIT_ASSERT(RowExists("doomed"));
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/doomed.git/HEAD"));
    CPPUNIT_ASSERT(fs::is_empty(w_->config.repos_dir + "/.trash"));
    CPPUNIT_ASSERT(service::DeleteRepo(w_->env, Ref("doomed")).ok());
  }

  void InterruptedDeleteIsRecovered() {
    // A crash after the directory moved aside but before the row delete committed: the row is
    // still there, so RecoverTrash puts the directory back.
    auto repo = service::CreateRepo(w_->env, Admin(), "crashy");
    CPPUNIT_ASSERT(repo.ok());
    fs::create_directories(w_->config.repos_dir + "/.trash");
    fs::rename(w_->config.repos_dir + "/crashy.git",
               w_->config.repos_dir + "/.trash/" + std::to_string(repo->id) + "-abcdefabcdef");
    // And a trash entry whose row is gone (the delete committed) is removed.
    fs::create_directories(w_->config.repos_dir + "/.trash/999999-abcdefabcdef");
    service::RecoverTrash(w_->env);
    CPPUNIT_ASSERT(fs::exists(w_->config.repos_dir + "/crashy.git/HEAD"));
    CPPUNIT_ASSERT(fs::is_empty(w_->config.repos_dir + "/.trash"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RepoStoreTest);
