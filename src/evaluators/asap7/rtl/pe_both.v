// gem_pe, both dataflows (as Gemmini's PE): c is the accumulator (ws = 0) or the weight
// (ws = 1), with the operand and output muxes of both.
module gem_pe (input clk, input rst, input ws, input preload, input last,
  input [${IB}-1:0] in_a, input [${BW}-1:0] in_b, input [${DW}-1:0] in_d,
  output [${BW}-1:0] out_b, output [${DW}-1:0] out_d);
  reg [${AB}-1:0] c, o;
  wire [${IB}-1:0] bop = ws ? c[${IB}-1:0] : in_b[${IB}-1:0];
  wire signed [2*${IB}-1:0] prod = $signed(in_a) * $signed(bop);
  wire signed [${AB}-1:0] prod_x = prod;
  wire [${AB}-1:0] sum = (ws ? in_b : c) + prod_x;
  assign out_b = ws ? sum : in_b;
  assign out_d = ws ? c : o;
  always @(posedge clk)
    if (rst) begin c <= 0; o <= 0; end
    else if (ws) begin if (preload) c <= in_d; end
    else begin c <= last ? {${AB}{1'b0}} : sum; o <= last ? sum : in_d; end
endmodule
