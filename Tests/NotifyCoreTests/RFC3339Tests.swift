import Foundation
import NotifyCore
import Testing

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0),
        ("2000-02-29T12:00:00.5+01:00", 951_822_000.5),
        ("2030-06-01t12:00:00z", 1_906_545_600.0),
        ("1969-12-31T23:59:59-00:00", -1.0),
    ])
    func parsesAcceptedForms(text: String, seconds: Double) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_001)
    }

    @Test(arguments: [
        "2030-02-29T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T23:60:00Z", "2030-01-01T23:59:60Z",
        "2030-01-01T00:00:00", "2030-01-01 00:00:00Z", "0000-01-01T00:00:00Z", "2030-13-01T00:00:00Z",
        "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00.1234567891Z", "2030-01-01T00:00:00+24:00", "2030-01-01T00:00:00Z\n",
        "２０３０-01-01T00:00:00Z",
    ])
    func rejectsMalformed(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func formatsUTCWithMilliseconds() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_738_311_300.123_4)) == "2025-01-31T08:15:00.123Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        let now = Date(timeIntervalSince1970: 1_700_000_000.25)
        #expect(RFC3339.parse(RFC3339.format(now)) == now)
    }
}
