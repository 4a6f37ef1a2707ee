// CppUnit runner shared by every test binary: runs all registered suites, exit 0 only if all pass.
#include <cppunit/CompilerOutputter.h>
#include <cppunit/extensions/TestFactoryRegistry.h>
#include <cppunit/ui/text/TestRunner.h>

int main() {
  CppUnit::TextUi::TestRunner runner;
  runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
  runner.setOutputter(new CppUnit::CompilerOutputter(&runner.result(), std::cerr));
  return runner.run("", false) ? 0 : 1;
}
