import ArgumentParser
import BLIP

extension Precision: ExpressibleByArgument {}
