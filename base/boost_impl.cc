// Boost.JSON and Boost.URL compiled into glint once: Debian's Boost 1.81 ships them as
// header-only sources without prebuilt libraries.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
