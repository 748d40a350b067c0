# shellcheck shell=bash
# The command line of the scripts in infra/, which source this file:
#
#   usage_lines=2,15   # the lines of the script's header that are its usage
#   . "$(dirname "$0")/cli.sh"
#   parse_options --hub=hub --dry-run=dry_run! -- "$@"

# usage prints the script's usage, the header lines usage_lines without
# their "# ", and exits 2.
usage() {
  sed -n "${usage_lines}p" "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# parse_options SPEC... -- ARGUMENT... sets the script's variables from its
# arguments. A SPEC --option=variable takes a value (--option VALUE, not
# empty); a SPEC --option=variable! is a switch that sets the variable to 1.
# -h and --help print the usage; any other argument is refused with it.
parse_options() {
  local _specs=() _spec _var
  while [[ $1 != -- ]]; do
    _specs+=("$1")
    shift
  done
  shift
  while (($#)); do
    case "$1" in -h | --help) usage ;; esac
    for _spec in "${_specs[@]}"; do
      [[ $1 == "${_spec%%=*}" ]] || continue
      _var=${_spec#*=}
      if [[ $_var == *! ]]; then
        printf -v "${_var%!}" 1
        shift
      else
        [[ -n ${2:-} ]] || { echo "$1 needs a value" >&2; exit 1; }
        printf -v "$_var" '%s' "$2"
        shift 2
      fi
      continue 2
    done
    echo "unknown argument: $1" >&2
    usage
  done
}
