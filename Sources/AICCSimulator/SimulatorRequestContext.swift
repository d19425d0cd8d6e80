import Foundation
import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the connection's channel, so that the `drop`
/// fault can close the connection without answering.
struct SimulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

extension Request {
    /// The first value of a header, by case-insensitive name.
    func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return self.headers.first { $0.name.canonicalName == lowered }?.value
    }
}

/// JSON responses.
enum JSONResponse {
    static func make(status: Int, json: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data("{}".utf8)
        return make(status: status, data: data)
    }

    static func make<Value: Encodable>(status: Int = 200, encoding value: Value) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        return make(status: status, data: data)
    }

    static func make(status: Int, data: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func empty(status: Int) -> Response {
        Response(status: .init(code: status))
    }
}
