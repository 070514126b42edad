#pragma once
// Shared by the subcommands: parse with Boost.program_options, print the help on -h/--help.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

namespace strata::cli {

// Parses `args` into `vm`; false (after printing `desc`) when --help was given.
inline bool parse_or_help(const std::vector<std::string>& args,
                          const boost::program_options::options_description& desc,
                          boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace strata::cli
