#ifndef AICC_NOTIFY_CRDKAFKA_SHIM_H
#define AICC_NOTIFY_CRDKAFKA_SHIM_H
// The librdkafka C API, as Debian's librdkafka-dev installs it, plus the mock
// cluster API that tests, `demo` and `kafka-mock` use.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
