import Foundation
import XCTest
@testable import Tensor

/// `bicubicResized` against PyTorch's `F.interpolate(mode="bicubic", align_corners=False)`.
final class BicubicInterpolationTests: XCTestCase {
    func testEqualsPyTorchUpAndDown() {
        // x = sin(0.37 · arange(24)).reshape(1, 2, 3, 4) → size (5, 3): rows up, columns down.
        let x = Tensor((0..<24).map { Float(sin(0.37 * Double($0))) }, shape: [1, 2, 3, 4])
        let expected: [Float] = [
            -0.044471, 0.4955635, 0.8990198, 0.4759462, 0.7660658, 0.8450563, 0.993774, 0.901225, 0.5602968, 0.5356414,
            0.1513136, -0.2747164, 0.0511812, -0.4894782, -0.8952367, -1.0328767, -1.0792625, -0.8282018, -0.8015072,
            -0.576165, -0.1920308, -0.30956, 0.1921428, 0.640891, 0.4863988, 0.7717524, 0.8444101, 1.0307866, 1.0805598,
            0.8325292,
        ]
        let y = x.bicubicResized(height: 5, width: 3)
        XCTAssertEqual(y.shape, [1, 2, 5, 3])
        for (a, b) in zip(y.contiguous().scalars, expected) { XCTAssertEqual(a, b, accuracy: 2e-6) }
    }
}
