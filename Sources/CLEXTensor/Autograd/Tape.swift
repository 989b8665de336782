/// Reverse-mode differentiation over the ops of this module.
///
/// A `Tape` records, for every op applied to `Variable`s, the result and a closure that turns the
/// gradient of that result into gradients of the op's inputs. Nodes are appended in execution
/// order, so walking them backwards is a valid topological order. A model or a positional method
/// written with `Variable` ops gets its gradients without any hand derivation.
///
/// A tape is for one forward/backward pass: make a new one per step. It keeps alive only what
/// backward closures capture, so a forward over constants (inference) records shapes and nothing
/// else: the same model code serves training and inference. Not thread-safe; record from one
/// thread.
public final class Tape {
    /// Turns the gradient of a node's value into contributions to its inputs via `GradientSink`.
    public typealias Backward = (_ gradient: Tensor, _ sink: GradientSink) -> Void

    struct Node {
        let shape: [Int]
        let requiresGrad: Bool
        let backward: Backward?
    }

    var nodes: [Node] = []
    var gradients: [Tensor?] = []
    var ownsGradient: [Bool] = []

    public init() {}

    /// A leaf whose gradient is wanted (a parameter or an input under test).
    public func variable(_ value: Tensor) -> Variable {
        append(value, Node(shape: value.shape, requiresGrad: true, backward: nil))
    }

    /// A leaf without gradient (data, positions, masks).
    public func constant(_ value: Tensor) -> Variable {
        append(value, Node(shape: value.shape, requiresGrad: false, backward: nil))
    }

    /// Records an op's result. `backward` is kept only if some input requires a gradient.
    public func record(_ value: Tensor, inputs: [Variable], backward: @escaping Backward) -> Variable {
        let needed = inputs.contains { $0.requiresGrad }
        for v in inputs { requireArgument(v.tape === self, "Tape.record: input belongs to another tape") }
        return append(value, Node(shape: value.shape, requiresGrad: needed, backward: needed ? backward : nil))
    }

    private func append(_ value: Tensor, _ node: Node) -> Variable {
        nodes.append(node)
        gradients.append(nil)
        ownsGradient.append(false)
        return Variable(tape: self, id: nodes.count - 1, value: value, requiresGrad: node.requiresGrad)
    }

    /// Back-propagates from `output`, seeding its gradient with `seed` (default: ones, so a scalar
    /// loss gets d loss/d loss = 1). Gradients accumulate across calls until `zeroGradients()`.
    public func backward(_ output: Variable, seed: Tensor? = nil) {
        requireArgument(output.tape === self, "backward: variable belongs to another tape")
        let s = seed ?? Tensor(shape: output.shape, repeating: 1)
        ShapeCheck.require(ShapeCheck.same("backward seed", output.shape, s.shape))
        let sink = GradientSink(tape: self)
        sink.add(s, to: output.id)
        for id in stride(from: output.id, through: 0, by: -1) {
            guard let backward = nodes[id].backward, let g = gradients[id] else { continue }
            backward(g, sink)
            // Interior gradients are no longer needed once propagated; keep leaves' only.
            gradients[id] = nil
        }
    }

    /// The accumulated gradient of a leaf after `backward`, or nil when none reached it.
    public func gradient(_ v: Variable) -> Tensor? {
        requireArgument(v.tape === self, "gradient: variable belongs to another tape")
        return gradients[v.id]
    }

    /// Forgets all accumulated gradients.
    public func zeroGradients() {
        for i in gradients.indices { gradients[i] = nil; ownsGradient[i] = false }
    }

    func accumulate(_ g: Tensor, into id: Int) {
        guard nodes[id].requiresGrad else { return }
        ShapeCheck.require(ShapeCheck.same("gradient accumulation", nodes[id].shape, g.shape))
        guard let existing = gradients[id] else {
            // Store without copying; the tensor may be shared with another node's gradient, so
            // it is not ours to modify in place until we made our own copy.
            gradients[id] = g
            ownsGradient[id] = false
            return
        }
        if ownsGradient[id] {
            Ops.addInPlace(existing, g)
        } else {
            gradients[id] = Ops.add(existing, g)
            ownsGradient[id] = true
        }
    }
}

/// Where an op's backward closure delivers the gradients of its inputs.
public struct GradientSink {
    let tape: Tape

    /// Adds `gradient` to the accumulated gradient of `input` (ignored if it needs none).
    public func add(_ gradient: Tensor, to input: Variable) {
        add(gradient, to: input.id)
    }

    func add(_ gradient: Tensor, to id: Int) {
        tape.accumulate(gradient, into: id)
    }
}
